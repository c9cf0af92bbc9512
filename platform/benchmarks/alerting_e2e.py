"""The alerting end-to-end measurement: run the e2e test, print its report as a table.

The test (platform/tests/integration/e2e/test_alerting_e2e.py) plants each fault on
`latte up dev --monitoring` and writes build/reports/alerting-e2e.json; this prints it:

    python platform/benchmarks/alerting_e2e.py          # run the test, then print
    python platform/benchmarks/alerting_e2e.py --report # print the last report only
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "build" / "reports" / "alerting-e2e.json"
TEST = "platform/tests/integration/e2e/test_alerting_e2e.py"


def table(report: dict) -> str:
    rows = [
        "| scenario | detection | notifications | incidents | top hint right | alerts |",
        "|---|---|---|---|---|---|",
    ]
    for r in [*report["faults"], report["clean"]]:
        detected = f"{r['detection_s']} s" if r["detection_s"] is not None else "-"
        right = {True: "yes", False: "no"}.get(r.get("top_hint_right"), "-")
        rows.append(
            f"| {r['scenario']} | {detected} | {r['notifications']} | {r['incidents']} "
            f"| {right} | {', '.join(r['notified']) or '-'} |"
        )
    rows.append(f"\ntop hint right: {report['top_hint_right']} of {len(report['faults'])}; "
                f"wall {report['wall_s']} s; profile {report['profile']}")  # fmt: skip
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    if "--report" not in argv:
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "--no-cov", TEST], cwd=ROOT)
        if done.returncode != 0 and not REPORT.is_file():
            return done.returncode
    print(table(json.loads(REPORT.read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
