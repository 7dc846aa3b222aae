"""`python -m doctor`: the doctor's entry point."""

from doctor.cli import main

raise SystemExit(main())
