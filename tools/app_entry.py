"""Entry script for the PyInstaller build (the package itself uses relative imports)."""

import sys

from riqa_desktop.app import main

if __name__ == "__main__":
    sys.exit(main())
