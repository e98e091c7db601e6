import sys

from distinc.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
