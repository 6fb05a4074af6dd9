"""Built long videos -> windows of W frames at sampled positions -> per-frame targets -> batches.

The long-video counterpart of `data/clips/pipeline.py` (docs/design.md, "Long-video
windows"). Records are read by index from ArrayRecord
(`builder.as_data_source`): every video's flow features and intervals are
small and held in memory; face frames (the `frames_*` configs) stay on disk
and a window decodes only its own frames from the one or two chunks it spans.

A window is W frames, every `frame_step`-th frame of a video from a start
position. It carries:
- `features` [W, 36]: each region's motion since the window's first frame;
- `targets` [W, 2]: micro and macro channels, the `target_shape` inside each
  expression of that kind (paper 002's hard 1, or a pseudo-label shape), 0
  elsewhere; intervals are inclusive at both ends, as the MEGC metric counts;
- `emotions` [W]: the class index (in `emotion_classes`) of the expression a
  frame is in, len(emotion_classes) (neutral) outside every expression, -1 in
  an expression whose label is not a class (`others` when excluded);
- `positions` [W]: the frames' numbers in the source; `mask` [W]: 0 for padding
  (a video shorter than a window).
Training windows come from one of two samplers (`SAMPLERS`, by the spec's
`grid`), both deterministic in (seed, step): a resumed run sees the very
batches an uninterrupted one would.
- `any` (ours): each window drawn afresh from every start, a `me_fraction`
  share overlapping a micro-expression (the rest overlapping none);
- `paper` (paper 002's): a fixed set on its grid, k rows every k/2, holding
  every window with a micro-expression and (1 - me_fraction) / me_fraction
  times as many without one drawn once, then epochs over it.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Iterator, Sequence

import numpy as np

from meint_jax.data import emotion_classes, flow_features, pseudo_labels
from meint_jax.data.long import sources as long_sources
from meint_jax.data.long import videos as long_videos
from meint_jax.data.long.videos import LongVideo

NEUTRAL = len(long_videos.EMOTION_CLASSES)   # the per-frame class outside every expression (default classes)
TARGET_SHAPES = ("hard",) + tuple(pseudo_labels.SHAPES)
GRIDS = ("any", "paper")            # where training windows start: see the module docstring
# A macro-expression's frames: their expression's class (ours) or neutral, as paper 002's labels hold only
# micro-expressions (a macro-expression's frames are background there).
MACRO_FRAMES = ("own", "neutral")


@dataclasses.dataclass(frozen=True)
class LongWindowSpec:
    """How windows are cut from long videos."""

    length: int = 50            # W frames (paper 002: 50 on CAS(ME)^3, 30 on SAMM-LV)
    frame_step: int = 1         # every k-th frame (paper 002 takes every 7th on SAMM-LV)
    me_fraction: float = 0.5    # training windows that overlap an ME; < 0: positions uniform over all windows
    target_shape: str = "hard"  # inside an expression: hard (1) or a pseudo_labels shape
    emotion_classes: tuple = long_videos.EMOTION_CLASSES    # per-frame emotion classes (neutral follows)
    emotion_labels: str = "three"                          # three | native: which label of an expression
    grid: str = "any"           # training windows: any start (ours) | paper 002's k/2 grid (GRIDS)
    macro_frames: str = "own"   # a macro-expression's frames' emotion: own class | neutral (MACRO_FRAMES)

    def __post_init__(self):
        if self.length < 2 or self.frame_step < 1:
            raise ValueError(f"window length {self.length} must be at least 2 and frame_step {self.frame_step} "
                             "at least 1")
        if self.target_shape not in TARGET_SHAPES:
            raise ValueError(f"target_shape={self.target_shape!r}: choose one of {TARGET_SHAPES}")
        if self.me_fraction > 1:
            raise ValueError(f"me_fraction={self.me_fraction} is a share: at most 1")
        if self.grid not in GRIDS or self.macro_frames not in MACRO_FRAMES:
            raise ValueError(f"grid={self.grid!r} / macro_frames={self.macro_frames!r}: choose from {GRIDS} / "
                             f"{MACRO_FRAMES}")


@dataclasses.dataclass(frozen=True, eq=False)
class StoredVideo:
    """A built video: its annotations, its per-frame flow features, and where its frames are stored."""

    video: LongVideo
    flow: np.ndarray                            # float32 [N, 36] region trajectories
    records: tuple[int, ...] = ()               # frames configs: the video's chunk records, in order
    chunk_frames: int = 0


def _text(x) -> str:
    return x.decode() if isinstance(x, bytes) else str(x)


def _video(record: dict, frame_numbers, true_intensity) -> LongVideo:
    blinks = tuple(zip((int(b) for b in record["blinks"]["onset"]), (int(b) for b in record["blinks"]["offset"])))
    return LongVideo(video_id=_text(record["video_id"]), subject=_text(record["subject"]),
                     frame_numbers=frame_numbers, fps=float(record["fps"]),
                     intervals=long_videos.intervals_from_record(record["intervals"]), blinks=blinks,
                     true_intensity=true_intensity)


def load_videos(builder, subjects: Sequence[str] | None = None) -> list[StoredVideo]:
    """Every built video of `subjects` (all when None), in the order they were built."""
    source = builder.as_data_source("train")
    wanted = None if subjects is None else set(subjects)
    chunked = "chunk" in builder.info.features
    videos, parts = [], collections.defaultdict(list)
    for index in range(len(source)):
        record = source[index]
        if wanted is not None and _text(record["subject"]) not in wanted:
            continue
        if not chunked:
            videos.append(StoredVideo(_video(record, record["frame_numbers"], record.get("true_intensity")),
                                      np.asarray(record["flow"], np.float32)))
            continue
        record.pop("frames")
        parts[_text(record["video_id"])].append((index, record))
        if int(record["chunk"]) == int(record["num_chunks"]) - 1:
            chunks = sorted(parts.pop(_text(record["video_id"])), key=lambda p: int(p[1]["chunk"]))
            if len(chunks) != int(record["num_chunks"]):
                raise ValueError(f"{builder.data_dir}: video {_text(record['video_id'])} has {len(chunks)} of its "
                                 f"{int(record['num_chunks'])} chunks: the build is damaged, delete it to rebuild")
            numbers = np.concatenate([c["frame_numbers"] for _, c in chunks])
            truth = np.concatenate([c["true_intensity"] for _, c in chunks]) if "true_intensity" in record else None
            videos.append(StoredVideo(_video(chunks[0][1], numbers, truth),
                                      np.concatenate([c["flow"] for _, c in chunks]).astype(np.float32),
                                      tuple(i for i, _ in chunks), int(chunks[0][1]["frame_numbers"].shape[0])))
    if parts:
        raise ValueError(f"{builder.data_dir}: video {sorted(parts)[0]} lacks its last chunks: the build is damaged, "
                         "delete it to rebuild")
    return videos


def list_subjects(videos: Sequence[StoredVideo]) -> list[str]:
    return sorted({v.video.subject for v in videos})


def of_subjects(videos: Sequence[StoredVideo], subjects) -> list[StoredVideo]:
    wanted = set(subjects)
    return [v for v in videos if v.video.subject in wanted]


def expression_frames(videos: Sequence[StoredVideo], kind: str = "micro") -> float:
    """Median length (offset - onset + 1, frames) of the expressions of `kind`: from training videos only."""
    lengths = [i.offset - i.onset + 1 for v in videos for i in v.video.intervals if i.kind == kind]
    return float(np.median(lengths)) if lengths else float("nan")


# ----------------------------------------------------------------------------------------- per-frame labels

def frame_targets(positions: np.ndarray, intervals, shape: str = "hard") -> np.ndarray:
    """float32 [..., 2] (micro, macro): the target at frame numbers `positions` from a video's intervals."""
    positions = np.asarray(positions)
    out = np.zeros(positions.shape + (2,), np.float32)
    for interval in intervals:
        channel = long_videos.KINDS.index(interval.kind)
        if shape == "hard":
            value = ((positions >= interval.onset) & (positions <= interval.offset)).astype(np.float32)
        else:
            value = pseudo_labels.pseudo_intensity(positions, interval.onset, interval.apex,
                                                   max(interval.offset, interval.onset + 1), shape)
        out[..., channel] = np.maximum(out[..., channel], value)
    return out


def frame_emotions(positions: np.ndarray, intervals, classes=long_videos.EMOTION_CLASSES,
                   label_set: str = "three", macro_frames: str = "own") -> np.ndarray:
    """int32 [...]: each frame's expression class index in `classes`, len(classes) (neutral) outside, -1
    (`emotion_classes.IGNORED`) in an expression whose label is no class; a micro-expression wins an overlap.
    With `macro_frames='neutral'` a macro-expression's frames are neutral (paper 002's labels)."""
    positions = np.asarray(positions)
    out = np.full(positions.shape, len(classes), np.int32)
    if macro_frames == "neutral":
        intervals = [i for i in intervals if i.kind == "micro"]
    for interval in sorted(intervals, key=lambda i: i.kind == "micro"):      # macro first, micro over it
        inside = (positions >= interval.onset) & (positions <= interval.offset)
        out[inside] = emotion_classes.index(emotion_classes.interval_label(interval, label_set), tuple(classes))
    return out


# ----------------------------------------------------------------------------------------------- windows

def window_starts(num_frames: int, spec: LongWindowSpec) -> np.ndarray:
    """Every possible window start (index into the video's `frame_step`-th frames); one start for a short video."""
    steps = -(-num_frames // spec.frame_step)
    return np.arange(max(1, steps - spec.length + 1))


def tile_starts(num_frames: int, spec: LongWindowSpec, stride: int) -> np.ndarray:
    """Starts of windows `stride` apart covering the whole video, the last one ending at its last frame."""
    last = window_starts(num_frames, spec)[-1]
    starts = np.arange(0, last + 1, max(1, stride))
    return starts if starts[-1] == last else np.append(starts, last)


def window_indices(num_frames: int, start: int, spec: LongWindowSpec) -> tuple[np.ndarray, np.ndarray]:
    """(frame indices [W], mask [W]) of the window at `start`; a short video's window repeats its last frame."""
    index = (start + np.arange(spec.length)) * spec.frame_step
    mask = (index < num_frames).astype(np.float32)
    return np.minimum(index, num_frames - 1), mask


def paper_grid_starts(num_frames: int, spec: LongWindowSpec) -> np.ndarray:
    """Paper 002's window starts: every k // 2 rows of the step grid, as many whole windows as its code cuts
    (rows // (k // 2) - 1); one start, 0, for a video shorter than that."""
    rows = -(-num_frames // spec.frame_step)
    half = max(1, spec.length // 2)
    return np.arange(max(1, rows // half - 1)) * half


def _overlaps_micro(stored: StoredVideo, spec: LongWindowSpec, starts: np.ndarray | None = None) -> np.ndarray:
    """bool per window start (default: every start): does the window hold a frame of a micro-expression?"""
    video = stored.video
    numbers = video.frame_numbers[::spec.frame_step]
    inside = np.zeros(len(numbers), np.int64)
    for interval in video.intervals:
        if interval.kind == "micro":
            inside |= (numbers >= interval.onset) & (numbers <= interval.offset)
    starts = window_starts(video.num_frames, spec) if starts is None else np.asarray(starts)
    running = np.concatenate([[0], np.cumsum(inside)])
    stops = np.minimum(starts + spec.length, len(numbers))
    return running[stops] - running[starts] > 0


def make_window(stored: StoredVideo, start: int, spec: LongWindowSpec) -> dict:
    """The window of one video at `start`: features, targets, emotions, positions, mask."""
    index, mask = window_indices(stored.video.num_frames, start, spec)
    positions = stored.video.frame_numbers[index]
    window = {"features": flow_features.relative_to_window_start(stored.flow[index]).astype(np.float32),
              "targets": frame_targets(positions, stored.video.intervals, spec.target_shape),
              "emotions": frame_emotions(positions, stored.video.intervals, spec.emotion_classes,
                                         spec.emotion_labels, spec.macro_frames),
              "positions": positions.astype(np.int32), "mask": mask, "start": np.int32(start)}
    if stored.video.true_intensity is not None:
        window["true_intensity"] = stored.video.true_intensity[index]
    return window


class WindowSampler:
    """Draws training windows from a set of videos, balanced between windows with and without an ME (ours:
    grid `any`)."""

    def __init__(self, videos: Sequence[StoredVideo], spec: LongWindowSpec, seed: int = 0):
        if not videos:
            raise ValueError("no videos to draw windows from")
        self.videos, self.spec, self.seed = list(videos), spec, seed
        pools = {True: [], False: []}
        for number, stored in enumerate(self.videos):
            starts = window_starts(stored.video.num_frames, spec)
            has_me = _overlaps_micro(stored, spec)
            for flag in (True, False):
                chosen = starts[has_me == flag]
                pools[flag].append(np.stack([np.full(len(chosen), number), chosen], axis=1))
        self.pools = {flag: np.concatenate(parts) for flag, parts in pools.items()}
        self.all = np.concatenate([self.pools[True], self.pools[False]])

    def draw(self, rng: np.random.Generator) -> tuple[int, int]:
        """(video number, start) of one window."""
        if self.spec.me_fraction < 0:
            pool = self.all
        else:
            with_me = rng.uniform() < self.spec.me_fraction
            pool = self.pools[with_me] if len(self.pools[with_me]) else self.pools[not with_me]
        number, start = pool[int(rng.integers(len(pool)))]
        return int(number), int(start)

    def batch(self, step: int, batch_size: int) -> list[tuple[int, int]]:
        """(video number, start) of each window of batch `step`, drawn from (seed, step)."""
        rng = np.random.default_rng([self.seed, step])
        return [self.draw(rng) for _ in range(batch_size)]

    @property
    def me_windows(self) -> int:
        return len(self.pools[True])


def paper_windows(videos: Sequence[StoredVideo], spec: LongWindowSpec, seed: int) -> tuple[np.ndarray, int]:
    """(windows [N, 2] of (video number, start), how many hold an ME): paper 002's training set, drawn once from
    `seed`. Every window of its grid (`paper_grid_starts`) holding a micro-expression, and int(that many x
    ratio) of those holding none, ratio = (1 - me_fraction) / me_fraction (their `ratio`); where too few are
    left, all but two of them, as their `downSampling` does. me_fraction < 0: every window of the grid."""
    with_me, without = [], []
    for number, stored in enumerate(videos):
        starts = paper_grid_starts(stored.video.num_frames, spec)
        has_me = _overlaps_micro(stored, spec, starts)
        with_me += [(number, int(s)) for s in starts[has_me]]
        without += [(number, int(s)) for s in starts[~has_me]]
    if spec.me_fraction < 0:
        chosen = without
    else:
        ratio = np.inf if spec.me_fraction == 0 else (1.0 - spec.me_fraction) / spec.me_fraction
        wanted = len(without) if np.isinf(ratio) else int(len(with_me) * ratio + 1e-9)   # 1e-9: 2/3's ratio 0.5
        if len(without) <= wanted:
            wanted = max(0, len(without) - 2)
        rng = np.random.default_rng([seed, 10])
        chosen = [without[i] for i in np.sort(rng.choice(len(without), wanted, replace=False))]
    windows = sorted(with_me + chosen)
    if not windows:
        raise ValueError("paper 002's grid holds no window of these videos with the settings given")
    return np.asarray(windows, np.int64).reshape(-1, 2), len(with_me)


class GridSampler:
    """Paper 002's training windows (grid `paper`): the fixed set of `paper_windows`, then epochs over it,
    each in a fresh order from (seed, epoch). Batches run on across an epoch's end, so each is whole."""

    def __init__(self, videos: Sequence[StoredVideo], spec: LongWindowSpec, seed: int = 0):
        if not videos:
            raise ValueError("no videos to draw windows from")
        self.videos, self.spec, self.seed = list(videos), spec, seed
        self.windows, self.me_windows = paper_windows(self.videos, spec, seed)

    def batch(self, step: int, batch_size: int) -> list[tuple[int, int]]:
        """(video number, start) of each window of batch `step`: places step x batch_size onwards of the epochs."""
        size = len(self.windows)
        places = step * batch_size + np.arange(batch_size)
        orders = {int(e): np.random.default_rng([self.seed, 11, int(e)]).permutation(size)
                  for e in np.unique(places // size)}
        picked = [self.windows[orders[int(p // size)][p % size]] for p in places]
        return [(int(number), int(start)) for number, start in picked]


SAMPLERS = {"any": WindowSampler, "paper": GridSampler}


def _stack(windows: list[dict]) -> dict:
    return {key: np.stack([w[key] for w in windows]) for key in windows[0]}


def train_batches(videos: Sequence[StoredVideo], spec: LongWindowSpec, *, batch_size: int, seed: int,
                  start_step: int = 0, frames: FrameReader | None = None, process_index: int = 0,
                  process_count: int = 1) -> Iterator[dict]:
    """Endless training batches; batch `step` is a pure function of (seed, step), so resuming skips nothing.

    With several processes, each yields its rows of every global batch (and reads only their frames).
    """
    sampler = SAMPLERS[spec.grid](videos, spec, seed)
    per_process = batch_size // process_count
    rows = slice(process_index * per_process, (process_index + 1) * per_process)
    step = start_step
    while True:
        drawn = sampler.batch(step, batch_size)[rows]
        windows = []
        for number, start in drawn:
            window = make_window(sampler.videos[number], start, spec)
            window["video_index"] = np.int32(number)
            if frames is not None:
                window["frames"] = frames.read(sampler.videos[number], window_indices(
                    sampler.videos[number].video.num_frames, start, spec)[0])
            windows.append(window)
        yield _stack(windows)
        step += 1


def video_windows(stored: StoredVideo, spec: LongWindowSpec, stride: int | None = None,
                  frames: FrameReader | None = None) -> dict:
    """Every window of a whole video, `stride` apart (default half a window), for inference and evaluation."""
    stride = stride or max(1, spec.length // 2)
    windows = []
    for start in tile_starts(stored.video.num_frames, spec, stride):
        window = make_window(stored, int(start), spec)
        if frames is not None:
            window["frames"] = frames.read(stored, window_indices(stored.video.num_frames, int(start), spec)[0])
        windows.append(window)
    return _stack(windows)


class FrameReader:
    """Reads the face frames of windows from a `frames_*` build, decoding only the frames asked for."""

    def __init__(self, builder, cache_chunks: int = 8):
        if "chunk" not in builder.info.features:
            raise ValueError(f"{builder.info.full_name} stores no frames: use one of its frames_* configs")
        self.source = builder.as_data_source("train")
        self.cache: collections.OrderedDict[int, list] = collections.OrderedDict()
        self.cache_chunks = cache_chunks
        config = getattr(builder, "builder_config", None)
        self.frame_size = getattr(config, "frame_size", None)    # side of the stored frames

    def _chunk(self, record: int) -> list:
        if record in self.cache:
            self.cache.move_to_end(record)
            return self.cache[record]
        chunk = self.cache[record] = list(self.source[record]["frames"])
        while len(self.cache) > self.cache_chunks:
            self.cache.popitem(last=False)
        return chunk

    def read(self, stored: StoredVideo, indices: np.ndarray) -> np.ndarray:
        """uint8 [len(indices), S, S, 3]: the video's frames at these indices."""
        if not stored.records:
            raise ValueError(f"video {stored.video.video_id} was loaded from a build without frames")
        return np.stack([long_sources.decode_jpeg(self._chunk(stored.records[i // stored.chunk_frames])
                                                  [i % stored.chunk_frames]) for i in np.asarray(indices)])
