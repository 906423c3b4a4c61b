"""`python -m core ...`: the command line (see core/cli.py, or `python -m core --help`)."""
from core.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
