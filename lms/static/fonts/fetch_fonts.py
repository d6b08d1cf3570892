"""Copy the BIZ UD P Gothic web font (SIL OFL 1.1) from the Debian package into lms/static/fonts/.

Run ``python lms/static/fonts/fetch_fonts.py`` (the Makefile's run/test targets call it). Needs the Debian
package ``fonts-morisawa-bizud-gothic``; when it is missing the script says so and exits 0, and the pages fall
back to the system's sans-serif font. Only the Regular weight is shipped (4.6 MB, cached by the browser);
bold text is synthesised, to keep page weight down on shared school Wi-Fi.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE_DIRS = [Path("/usr/share/fonts/truetype/bizud-gothic"), Path("/usr/share/fonts/truetype/morisawa")]
FILES = ["BIZUDPGothic-Regular.ttf"]
LICENSE_SOURCE = Path("/usr/share/doc/fonts-morisawa-bizud-gothic/copyright")


def fetch(target: Path = HERE) -> list[Path]:
    """Copy each missing font file into ``target``; return the files copied."""
    copied: list[Path] = []
    for name in FILES:
        destination = target / name
        if destination.exists():
            continue
        source = next((d / name for d in SOURCE_DIRS if (d / name).is_file()), None)
        if source is None:
            print(
                f"{name} not found: install it with `apt-get install fonts-morisawa-bizud-gothic` "
                "(pages fall back to sans-serif meanwhile)",
                file=sys.stderr,
            )
            continue
        shutil.copyfile(source, destination)
        copied.append(destination)
    license_target = target / "LICENSE-BIZUDGothic.txt"
    if not license_target.exists() and LICENSE_SOURCE.is_file():
        shutil.copyfile(LICENSE_SOURCE, license_target)
    return copied


if __name__ == "__main__":
    for path in fetch():
        print(f"copied {path}")
