// Scrub and unscrub shared cases with the npm dnode-protocol 0.2.2 (the scrubber kite.js uses),
// and build real kite.js 1.0.13 request messages, for tests/test_dnode_node.py.
//
// stdin:  {"scrub": [value, ...], "unscrub": [{"arguments": [...], "callbacks": {...}}, ...],
//          "kitejs": [{"method": "square", "params": [...]}, ...]}
// Values use the string "$fn" for a fresh function and "$same" for one function shared by
// every "$same" in that case. stdout: {"scrub": [...], "unscrub": [...], "kitejs": [...]}.
'use strict';

const protocol = require('dnode-protocol');

function withFunctions(value, shared) {
  if (value === '$fn') return function fresh() {};
  if (value === '$same') return shared;
  if (Array.isArray(value)) return value.map((v) => withFunctions(v, shared));
  if (value !== null && typeof value === 'object') {
    const out = {};
    for (const key of Object.keys(value)) out[key] = withFunctions(value[key], shared);
    return out;
  }
  return value;
}

function markFunctions(value) {
  if (typeof value === 'function') return `<fn:${value.dnodeId}>`;
  if (Array.isArray(value)) return value.map(markFunctions);
  if (value !== null && typeof value === 'object') {
    const out = {};
    for (const key of Object.keys(value)) out[key] = markFunctions(value[key]);
    return out;
  }
  return value;
}

function scrub(value) {
  const proto = protocol({});
  const shared = function shared() {};
  return proto.scrubber.scrub([withFunctions(value, shared)]);
}

function unscrub(msg) {
  const proto = protocol({});
  const args = proto.scrubber.unscrub(msg, (id) => {
    const fn = function remote() {};
    fn.dnodeId = id;
    return fn;
  });
  return markFunctions(args);
}

function kitejs(call) {
  const { Kite } = require('kite.js');
  const kite = new Kite({ url: 'http://127.0.0.1:1/kite', autoConnect: false, name: 'jskite' });
  const shared = function shared() {};
  const params = withFunctions(call.params, shared);
  return JSON.stringify(kite.messageScrubber.scrub(call.method, params, () => {}));
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const cases = JSON.parse(input);
  const out = {
    scrub: (cases.scrub || []).map(scrub),
    unscrub: (cases.unscrub || []).map(unscrub),
    kitejs: (cases.kitejs || []).map(kitejs),
  };
  process.stdout.write(JSON.stringify(out));
});
