"""``python -m idxadvise …``: runs the binary with the same arguments."""

import subprocess
import sys

from idxadvise import BinaryNotFound, find_binary


def main():
    try:
        binary = find_binary()
    except BinaryNotFound as e:
        sys.stderr.write("error: %s\n" % e)
        return 4
    return subprocess.call([binary] + sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
