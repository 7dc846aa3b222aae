"""`python -m smoke`: the smoke check's entry point."""

from smoke.cli import main

raise SystemExit(main())
