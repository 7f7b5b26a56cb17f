"""What the drill shows: the progress line while it runs, the summary, the HTML report."""

from __future__ import annotations

import html
import json
import sys
import time
from typing import Any

from .harness import Outcome
from .scenarios import SCENARIOS


# --------------------------------------------------------------------------------------------
# Progress, summary and the HTML report


class Progress:
    """A live view of the steps (step, state, elapsed); plain lines when not on a terminal."""

    def __init__(self, enabled: bool, t0: float) -> None:
        self.enabled = enabled
        self.tty = enabled and sys.stdout.isatty()
        self.t0 = t0
        self.steps: dict[str, dict[str, Any]] = {}
        self.lines = 0
        self.printed: set[tuple[str, str]] = set()

    def note(self, msg: str) -> None:
        if self.enabled:
            self._clear()
            print(f"[{time.monotonic() - self.t0:6.1f} s] {msg}", flush=True)
            self._draw()

    def update(self, history: list[dict[str, Any]]) -> None:
        self.steps = {}
        for e in history:
            for key, entered in (("stateEnteredEventDetails", True), ("stateExitedEventDetails", False)):
                if key not in e:
                    continue
                name = e[key]["name"]
                step = name.split(": ")[0]
                if step in ("Record", "Notify", "Done", "Aborted", "Failed"):
                    step = "Record and notify"
                s = self.steps.setdefault(step, {"state": name, "start": e["timestamp"], "end": None, "open": 0})
                s["state"] = name
                s["open"] += 1 if entered else -1
                s["end"] = None if s["open"] > 0 else e["timestamp"]
                if e["type"].endswith("Failed") or e["type"] == "TaskTimedOut":
                    s["failed"] = True
        if not self.enabled:
            return
        if self.tty:
            self._clear()
            self._draw()
        else:
            for step, s in self.steps.items():
                phase = "done" if s["end"] else "running"
                if (step, phase) not in self.printed:
                    self.printed.add((step, phase))
                    took = f" in {(s['end'] - s['start']).total_seconds():.1f} s" if s["end"] else ""
                    print(f"[{time.monotonic() - self.t0:6.1f} s]   {step:<28} {phase}{took}", flush=True)

    def _clear(self) -> None:
        if self.tty and self.lines:
            sys.stdout.write(f"\x1b[{self.lines}A\x1b[J")
            self.lines = 0

    def _draw(self) -> None:
        if not self.tty:
            return
        now = time.time()
        rows = []
        for step, s in self.steps.items():
            end = s["end"].timestamp() if s["end"] else now
            elapsed = end - s["start"].timestamp()
            mark = "✔" if s["end"] else "…"
            rows.append(f"  {mark} {step:<28} {s['state'][:40]:<40} {elapsed:6.1f} s")
        sys.stdout.write("\n".join(rows) + ("\n" if rows else ""))
        sys.stdout.flush()
        self.lines = len(rows)

    def close(self) -> None:
        """Leave the final table on the terminal."""
        if self.tty:
            self._clear()
            self._draw()
            self.lines = 0
            self.tty = False


def summary(out: Outcome) -> str:
    lines = [f"Drill '{out.scenario}': {'PASSED' if out.passed else 'FAILED'} — {out.verdict}"]
    r = out.report
    if r:
        rto = r.get("rto_seconds")
        rpo = r.get("rpo_estimate_seconds")
        back = out.scenario == "failback"
        lines.append(f"  {'Request -> traffic verified home' if back else 'RTO (trigger -> traffic verified)'}: "
                     f"{f'{rto:.1f} s' if rto is not None else '-'}")
        lines.append(f"  {'RPO (planned switchover)        ' if back else 'RPO estimate (lag at promotion): '} "
                     f"{f'{rpo:.1f} s' if rpo is not None else '-'}")
        detect = out.timings.get("outage_to_run_seconds")
        if detect is not None and rto is not None and not back:
            lines.append(f"  Outage -> run started:            {detect:.1f} s (the drill runs the canary at "
                         f"once; on the template's cadence add up to 3 rounds of 9 s: make bench)")
            lines.append(f"  Outage -> traffic verified:       {detect + rto:.1f} s")
        tl = r["timeline"]
        t0 = parse_time(tl["triggered_at"])
        lines.append("  Steps:")
        for s in tl["steps"]:
            start = parse_time(s["started_at"]) - t0
            end = parse_time(s["ended_at"]) - t0 if s.get("ended_at") else None
            took = f"{end - start:6.1f} s" if end is not None else "  not finished"
            lines.append(f"    +{start:6.1f} s  {s['name']:<10} {took}")
        if r.get("error"):
            lines.append(f"  Error: {r['error']['Error']}: {(r['error'].get('Cause') or '(no cause given)')[:200]}")
    rd = out.readiness
    if rd:
        lines.append("  Readiness before the outage: " + (
            f"ready ({rd['ok']} checks ok, {rd['warnings']} warnings)" if rd["ready"]
            else f"NOT READY ({'; '.join(rd['critical'])})"))
    es = out.end_state
    if es:
        lines.append(
            f"  End state: writer {es.get('writer_region')}, www -> {es.get('www_region')}, "
            f"ECS {es.get('ecs_desired')}, workers {es.get('asg_desired')}, "
            f"lock {'held' if es.get('lock') else 'free'}"
        )
    lines.append(f"  Notifications: {len(out.notifications)} ({'; '.join(n['subject'] for n in out.notifications)})")
    if out.scenario != "failback":
        lines.append(f"  Secrets in {out.timings.get('log_lines_checked', 0):.0f} function log lines: none"
                     if "SECRET" not in out.verdict else "  Secrets in the function logs: FOUND")
    if out.scenario == "failback":
        lines.append(f"  Waited {out.timings.get('waited_seconds', 0):.1f} s for: "
                     f"{', '.join(out.waited_for) or 'nothing'} (lifeboat refused until then)")
        lines.append(f"  Failback wall time {out.wall_seconds:.1f} s")
        return "\n".join(lines)
    lines.append(f"  Drill wall time {out.wall_seconds:.1f} s (set-up {out.timings.get('setup_seconds', 0):.1f} s)")
    if out.failback is not None:
        lines.append("")
        lines.append("The way home:")
        lines.append(summary(out.failback))
    if out.iam:
        lines.append("")
        lines.append(f"Least privilege, executed: {out.iam['calls']} calls of the functions, each "
                     "allowed at the call by its own role (infra/template.yaml, enforced by the "
                     "emulator) and judged again by an IAM policy simulator")
        lines.extend("  " + line for line in out.iam["table"].splitlines())
        lines.extend(f"  {p}" for p in out.iam["problems"])
    return "\n".join(lines)


def parse_time(s: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def html_report(out: Outcome) -> str:
    r = out.report or {}
    chart = timeline_chart(r)
    rows = notification_rows(out)
    fmt = lambda v: f"{v:.1f} s" if isinstance(v, (int, float)) else "-"  # noqa: E731
    error = r.get("error")
    home = ""
    fb = out.failback
    if fb is not None:
        fr = fb.report or {}
        home = f"""<h2>The way home: failback</h2>
<p class="{'ok' if fb.passed else 'bad'}"><b>{'PASSED' if fb.passed else 'FAILED'}</b>: {html.escape(fb.verdict)}</p>
<table>
<tr><th>Run</th><td>{html.escape(str(fb.run_id or '-'))}</td></tr>
<tr><th>Waited for (lifeboat refused until then)</th><td>{html.escape(', '.join(fb.waited_for) or '-')} ({fmt(fb.timings.get('waited_seconds'))})</td></tr>
<tr><th>Outcome</th><td>{html.escape(str(fr.get('outcome', '-')))}</td></tr>
<tr><th>Trigger → traffic verified at home</th><td>{fmt(fr.get('rto_seconds'))}</td></tr>
<tr><th>RPO (planned switchover)</th><td>{fmt(fr.get('rpo_estimate_seconds'))}</td></tr>
<tr><th>Active region / epoch</th><td>{html.escape(str(fr.get('active_region', '-')))} / {html.escape(str(fr.get('epoch', '-')))}</td></tr>
<tr><th>End state</th><td><pre>{html.escape(json.dumps(fb.end_state, indent=1, default=str))}</pre></td></tr>
</table>
<h3>Timeline</h3>{timeline_chart(fr)}
<h3>Notifications ({len(fb.notifications)})</h3><table>{notification_rows(fb)}</table>"""
    return page(out, r, chart, rows, fmt, error, home)


def notification_rows(out: Outcome) -> str:
    return "".join(
        f"<tr><td>{html.escape(n['subject'])}</td><td><pre>{html.escape(n['message'][:1500])}</pre></td></tr>"
        for n in out.notifications
    )


def timeline_chart(r: dict[str, Any]) -> str:
    tl = r.get("timeline") or {"steps": [], "triggered_at": None}
    t0 = parse_time(tl["triggered_at"]) if tl.get("triggered_at") else None
    bars = []
    if t0 is not None:
        spans = [(s["name"], parse_time(s["started_at"]) - t0,
                  (parse_time(s["ended_at"]) - t0) if s.get("ended_at") else None) for s in tl["steps"]]
        total = max([e or s for _, s, e in spans] + [r.get("rto_seconds") or 0, 1.0])
        width, left, row = 760, 110, 28
        for i, (name, s, e) in enumerate(spans):
            x = left + s / total * (width - left)
            w = max(2.0, ((e if e is not None else total) - s) / total * (width - left))
            color = "#2e7d32" if e is not None else "#c62828"
            label = f"{(e - s):.1f} s" if e is not None else "not finished"
            y = 10 + i * row
            bars.append(
                f'<text x="4" y="{y + 16}">{html.escape(name)}</text>'
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="20" fill="{color}" rx="3"/>'
                f'<text x="{x + w + 4:.1f}" y="{y + 16}">{html.escape(label)}</text>'
            )
        height = 20 + len(spans) * row + 40
        axis = "".join(
            f'<line x1="{left + k / 4 * (width - left):.1f}" y1="0" x2="{left + k / 4 * (width - left):.1f}" '
            f'y2="{height - 18}" stroke="#ddd"/><text x="{left + k / 4 * (width - left) - 10:.1f}" '
            f'y="{height - 4}">{total * k / 4:.0f} s</text>'
            for k in range(5)
        )
        rto = r.get("rto_seconds")
        marker = ""
        if isinstance(rto, (int, float)):
            mx = left + rto / total * (width - left)
            marker = (f'<line x1="{mx:.1f}" y1="0" x2="{mx:.1f}" y2="{height - 18}" stroke="#1565c0" '
                      f'stroke-dasharray="4 3"/><text x="{mx + 4:.1f}" y="{height - 22}" fill="#1565c0">'
                      f'RTO {rto:.1f} s: traffic verified</text>')
        trigger = (f'<text x="{left + 2}" y="{height - 22}" fill="#555">trigger</text>')
        chart = f'<svg width="{width + 160}" height="{height}" font-family="sans-serif" font-size="12">{axis}{"".join(bars)}{marker}{trigger}</svg>'
    else:
        chart = "<p>No run timeline (no run was started).</p>"
    return chart


def page(out: Outcome, r: dict[str, Any], chart: str, rows: str, fmt: Any, error: Any, home: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lifeboat drill: {html.escape(out.scenario)}</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}}
td,th{{border-bottom:1px solid #eee;padding:4px 8px;vertical-align:top;text-align:left}}
pre{{white-space:pre-wrap;margin:0;font-size:12px}} .ok{{color:#2e7d32}} .bad{{color:#c62828}}</style></head>
<body><h1>lifeboat drill — {html.escape(out.scenario)}</h1>
<p class="{'ok' if out.passed else 'bad'}"><b>{'PASSED' if out.passed else 'FAILED'}</b>: {html.escape(out.verdict)}</p>
<p>{html.escape(SCENARIOS[out.scenario].summary)}{'' if out.approval else ' (--no-approval: the plan needs no person)'}</p>
<table>
<tr><th>Run</th><td>{html.escape(str(out.run_id or '-'))}</td></tr>
<tr><th>Outcome</th><td>{html.escape(str(r.get('outcome', '-')))}</td></tr>
<tr><th>RTO (trigger → traffic verified)</th><td>{fmt(r.get('rto_seconds'))}</td></tr>
<tr><th>RPO estimate (lag at promotion)</th><td>{fmt(r.get('rpo_estimate_seconds'))}</td></tr>
<tr><th>Active region / epoch</th><td>{html.escape(str(r.get('active_region', '-')))} / {html.escape(str(r.get('epoch', '-')))}</td></tr>
<tr><th>Error</th><td>{html.escape(error['Error'] + ': ' + (error.get('Cause') or '(no cause given)')) if error else '-'}</td></tr>
<tr><th>Open steps</th><td>{html.escape(', '.join(r.get('open_steps') or []) or '-')}</td></tr>
<tr><th>Readiness before the outage</th><td>{html.escape(('ready (' + str(out.readiness.get('ok')) + ' checks ok)') if out.readiness.get('ready') else ('NOT READY: ' + '; '.join(out.readiness.get('critical') or [])) if out.readiness else '-')}</td></tr>
<tr><th>End state</th><td><pre>{html.escape(json.dumps(out.end_state, indent=1, default=str))}</pre></td></tr>
</table>
<h2>Timeline</h2>{chart}
<h2>Notifications ({len(out.notifications)})</h2><table>{rows}</table>
{home}
<p><small>Drill wall time {out.wall_seconds:.1f} s; simulated AWS durations scaled (see --time-scale).</small></p>
</body></html>
"""

