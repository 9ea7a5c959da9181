"""Copy ownergraph.grass into guide.html's first runnable block (between the style markers).

The guide carries the style inline (``:style <grass>``) so that it works on any host and
port; run this after editing the .grass file (a test checks that the two agree).
"""

from __future__ import annotations

import html
import re
from pathlib import Path

HERE = Path(__file__).parent
BLOCK = re.compile(r"(<!-- style:begin -->).*?(<!-- style:end -->)", re.S)


def main() -> None:
    grass = (HERE / "ownergraph.grass").read_text(encoding="utf-8")
    guide = HERE / "guide.html"
    text = guide.read_text(encoding="utf-8")
    inline = html.escape(":style\n" + grass, quote=False)
    guide.write_text(BLOCK.sub(lambda m: m.group(1) + inline + m.group(2), text), "utf-8")


if __name__ == "__main__":
    main()
