"""Developer tool: copy the source URLs of the facts sheet into knowledge/fact-sources.txt.

    python scripts/sync_fact_sources.py [path/to/facts.md]

The facts sheet lives outside the repository (../shared/reference/facts.md, for the
people who write the articles). Tests may not read it, since a user's clone does not have
it, so its list of sources is kept here and tests/test_knowledge.py checks every article's
sources against that list. Run this after the facts sheet changes, and commit the result.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "knowledge" / "fact-sources.txt"
URL = re.compile(r"https?://[^\s)\]>|,]+")


def main() -> int:
    facts = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "reference" / "facts.md"
    if not facts.exists():
        print(f"No facts sheet at {facts}; give its path as the argument.", file=sys.stderr)
        return 1
    urls = sorted({u.rstrip(".;:") for u in URL.findall(facts.read_text(encoding="utf-8"))})
    header = "# Every source URL of the centre's facts sheet (scripts/sync_fact_sources.py).\n"
    OUT.write_text(header + "".join(f"{u}\n" for u in urls), encoding="utf-8")
    print(f"Wrote {len(urls)} sources to {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
