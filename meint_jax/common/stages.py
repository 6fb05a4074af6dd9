"""Where a command's time goes: wall and CPU seconds per named stage, and the table `--profile` prints.

    timer = StageTimer()
    with timer.stage("face"):
        for image in timer.timed("decode", images):   # decoding inside the face search counts as decode
            ...

Stages nest: while an inner stage runs, the outer one's clocks stop, so every second is counted once. Work
done in worker processes is added as they measured it (`add`): with workers, the stages' sum is work and may
exceed the wall time. CPU seconds (the process's, all its threads) tell on a busy shared machine what wall
seconds cannot: which stage costs the work, rather than which one waited for a core.
"""

from __future__ import annotations

import contextlib
import time
from typing import Callable, Iterable, Iterator

SPOT_STAGES = ("decode", "face", "flow", "network", "decoding", "writing")


class StageTimer:
    def __init__(self, stages: Iterable[str] = SPOT_STAGES,
                 clocks: tuple[Callable[[], float], Callable[[], float]] = (time.perf_counter, time.process_time)):
        stages = tuple(stages)
        self.seconds = dict.fromkeys(stages, 0.0)      # wall
        self.cpu = dict.fromkeys(stages, 0.0)
        self._clocks = clocks
        self._running = []      # [name, wall since, cpu since] of the open stages, innermost last

    def _now(self) -> tuple[float, float]:
        return self._clocks[0](), self._clocks[1]()

    def add(self, name: str, seconds: float, cpu: float = 0.0) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds
        self.cpu[name] = self.cpu.get(name, 0.0) + cpu

    def add_all(self, seconds: dict, cpu: dict | None = None) -> None:
        for name, value in seconds.items():
            self.add(name, value, (cpu or {}).get(name, 0.0))

    @contextlib.contextmanager
    def stage(self, name: str):
        wall, cpu = self._now()
        if self._running:
            outer = self._running[-1]
            self.add(outer[0], wall - outer[1], cpu - outer[2])
        self._running.append([name, wall, cpu])
        try:
            yield self
        finally:
            wall, cpu = self._now()
            _, since, cpu_since = self._running.pop()
            self.add(name, wall - since, cpu - cpu_since)
            if self._running:
                self._running[-1][1:] = [wall, cpu]

    def timed(self, name: str, items: Iterable) -> Iterator:
        """`items`, the time spent producing each one counted in stage `name` (a decoding generator)."""
        iterator = iter(items)
        while True:
            with self.stage(name):
                try:
                    item = next(iterator)
                except StopIteration:
                    return
            yield item


def table(rows: list[dict]) -> str:
    """A markdown table of rows {"name", "stages" (name -> wall seconds), "cpu" (name -> CPU seconds, optional),
    "wall" (seconds), "media" (seconds of recording, or None)}: each stage's wall (CPU) seconds, the wall time
    and how much faster than real time, with a total row under several."""
    if len(rows) > 1:
        media = [row.get("media") for row in rows]
        summed = StageTimer(())
        for row in rows:
            summed.add_all(row["stages"], row.get("cpu"))
        rows = [*rows, {"name": "total", "stages": summed.seconds, "cpu": summed.cpu,
                        "wall": sum(row["wall"] for row in rows), "media": sum(media) if all(media) else None}]
    names = list(dict.fromkeys(name for row in rows for name in row["stages"]))
    lines = ["| " + " | ".join(["input", *(f"{n} s (CPU s)" for n in names), "wall s", "x real time"]) + " |",
             "|" + "---|" * (len(names) + 3)]
    for row in rows:
        speed = f"{row['media'] / row['wall']:.2f}" if row.get("media") and row["wall"] > 0 else "-"
        cells = [f"{row['stages'].get(n, 0.0):.2f} ({row.get('cpu', {}).get(n, 0.0):.2f})" for n in names]
        lines.append("| " + " | ".join([row["name"], *cells, f"{row['wall']:.2f}", speed]) + " |")
    return "\n".join(lines)
