"""``python -m bench``: run every benchmark (see ``bench._harness.main``)."""

from ._harness import main

raise SystemExit(main())
