import sys

from .cli import main

# Guarded: a Dask worker process started by spawn (nnspec run --workers) imports this module as
# __mp_main__, and must not run the command line again.
if __name__ == "__main__":
    sys.exit(main())
