"""A fixed RSA key pair for tests (Go kite's `testkeys`): Kontrol's signing pair in test set-ups.

The pair is public (it is in this file): trust it in tests only. Kite keys and tokens signed
with it are minted when a test runs (`kontrol.testing`), so nothing here carries a date.
"""

from __future__ import annotations

from .._auth._keys import KeyPair

__all__ = ["TEST_KEY_PAIR"]

_PUBLIC = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAijgYiwBzI+iMP/t1ydHl\n"
    "qAo9QrV36E1xIBB1+VXtwQLtMDJ8z7VveAs13zA3Jx/EqCmhd0XTLteszSt0rV0E\n"
    "vEu+j4Ye8n/2uLUiyNTzEUJY7G5cLXMgIfuAbnkMbbqnk82BFLyehdjPMhwgvTms\n"
    "TiBkLVJwDgDbt/r/kz9LlijBgSSTOCl0WeRIq8+rTT/Gq7MzJLzQChbZuzzExHN3\n"
    "6RxlsZhPpRorS2aeJY/g2XYjQ19vEUm/UjWoMQM8xtNBWj/mW9i8z3Do6yzl49n0\n"
    "LwVxzvC45mVhNsOMWHohqcVgv7QTXcElMLadi2YgeZsxoEDMBMf29ATpIWITc+IW\n"
    "UwIDAQAB\n"
    "-----END PUBLIC KEY-----\n"
)

_PRIVATE = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAijgYiwBzI+iMP/t1ydHlqAo9QrV36E1xIBB1+VXtwQLtMDJ8\n"
    "z7VveAs13zA3Jx/EqCmhd0XTLteszSt0rV0EvEu+j4Ye8n/2uLUiyNTzEUJY7G5c\n"
    "LXMgIfuAbnkMbbqnk82BFLyehdjPMhwgvTmsTiBkLVJwDgDbt/r/kz9LlijBgSST\n"
    "OCl0WeRIq8+rTT/Gq7MzJLzQChbZuzzExHN36RxlsZhPpRorS2aeJY/g2XYjQ19v\n"
    "EUm/UjWoMQM8xtNBWj/mW9i8z3Do6yzl49n0LwVxzvC45mVhNsOMWHohqcVgv7QT\n"
    "XcElMLadi2YgeZsxoEDMBMf29ATpIWITc+IWUwIDAQABAoIBAAJ33/r+JhA6beQS\n"
    "nIGJzbJuLwvgQQ+VRR46d7DdLPgTvPfttDbiruaTj1cN/bN602s2sHB4fxNIvLLp\n"
    "QhXPzG7Zt2x0C7IZljv+2BaCtFiBjnmiZY5WOPkCYcJsnPaKAnDBlxAvZ3FNHt4Z\n"
    "Nyh0kt7OS0ZX64evJ5Kl2Sc1q9GMSreUgSxYHVEZK6OVPNFA65n6e0Kes2ZsRNR+\n"
    "x63jbiooMdFQ+uvHyJDkBdGqdGJ6Gb0RIr427sz1CH/zUCq8i7XGchjmFsfeJuIB\n"
    "dcbViK6yh0MslRB9yriyy7ndZ/4xlBBpBoDM8Hf6SzMttcW5A8DwIhDSk0jo13Xf\n"
    "u59IAOkCgYEAwiD2RDk1bxx98t/8kcogvgm8u0lWjJERw0CfSAswrdh9seLPsxTG\n"
    "YCkBa57o1iXjr3XZzM+tbx9A0nZJydxy7vGvSDIjTXqAH4/MUmMT6WZEUVYXo5vb\n"
    "iMVdegQfl7WH/ienQirtuZOyOYYbCOrbKZrM+CA+sJJr4rbpgIFDzi8CgYEAtkVy\n"
    "LBpznuU2olYrPNc/gxOwozfve5bXUMnif5EiZ24W8U7dRGP8zfnx+/tT1hKeSkc+\n"
    "EvonNea5mhbtoSHH1afkkcPhZid1CJyPXIjfOu33mig9SY3ehk7MIX8yr6pA1B+B\n"
    "D4FB02M/oXTe+MQrZuRyg7KF5bzI/ofQG5W8NR0CgYBUEKoUSSHWh+QStOROzdT3\n"
    "9oeAIvYT0Q58GxPewtnFrqZfzfRbfHebVKaE0D/L3ISIiuRSSOy13jbX7NlvTMOI\n"
    "rahV/0BCYPXytPaqBrWssNiM0FdURj3/MFiWagq0S6wkZ0+K28QuRMM9HdG/PtTB\n"
    "Y4O3P19mX0HQ35ymRVPziQKBgQCa1P06d7HVvVIermIGSbaa6wP2clKNwsHez9AG\n"
    "m0wFXmBA1cRiDym18udbLNC3nZM297PEPRlH0VnCik2Lvf1aAkfIhwOWWlgxW4Tw\n"
    "jxhJn9Hf8uS08b2gi5kdr0ZoMJDnYGequxsmrT1lMrkhysovmkmok+LoF+kJRmdC\n"
    "t3xsBQKBgDXsYumxGmzPEE1WUEqWuu2L/voOxWHWaflGr+CO3WcNKNX310h3oSUP\n"
    "7YT9YUybfzcV9p3FnyKDV//2D57LO8ala21OmBjApXDtSa2sX3M27RXMucLKXsS6\n"
    "iO6Mjeqd1DqqyDZxmxMC10KRU3dvugXybnFrIJs8erfWn75YuXXG\n"
    "-----END RSA PRIVATE KEY-----\n"
)

#: The test key pair, in Go's PEM formats (PKIX public key, PKCS#1 private key).
TEST_KEY_PAIR = KeyPair(public=_PUBLIC, private=_PRIVATE)
