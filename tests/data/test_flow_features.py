"""Region flow features (flow_features): hand-made clips whose motion is known, read back in pixels.

The clips are a smooth random texture (no face: Farneback needs only texture) with the regions of a
synthetic face's 68 landmarks laid over it. One region's surroundings, or the whole image, are moved by
a known sub-pixel amount with a cubic-spline shift, so every expected feature is that amount or zero.
"""

import numpy as np
import pytest
from scipy import ndimage

from meint_jax.data import flow_features
from meint_jax.data.clips import synthetic

SIZE = 96
PAD = 16                   # the texture is larger than the crop, so whole-image shifts bring real texture in
MOTION = np.array([2.0, -1.0])   # (dx, dy) px: right and up
STEPS = np.linspace(0.0, 1.0, 5)  # the motion grows 0, 0.5, 1, 1.5, 2 px in x over five frames
TOLERANCE = 0.3           # px
MOUTH_REGIONS = [i for i, name in enumerate(flow_features.REGION_NAMES)
                 if name == "mouth" or name.startswith(("mouth_", "upper_lip", "lower_lip", "inner_lip"))]
OTHER_REGIONS = [i for i in range(len(flow_features.REGION_NAMES)) if i not in MOUTH_REGIONS]


@pytest.fixture(scope="module")
def texture():
    rng = np.random.default_rng(3)
    noise = ndimage.gaussian_filter(rng.normal(size=(SIZE + 2 * PAD,) * 2), sigma=2.0)
    return 128.0 + 40.0 * noise / noise.std()


@pytest.fixture(scope="module")
def landmarks():
    return synthetic.face_landmarks(synthetic.make_identity(np.random.default_rng([0, 0])), SIZE)


def mouth_patch(landmarks, margin=8):
    """(x0, y0, x1, y1) of the mouth's landmarks' bounding box grown by `margin` px: what the test moves."""
    points = landmarks[48:68]
    (x0, y0), (x1, y1) = np.floor(points.min(axis=0)) - margin, np.ceil(points.max(axis=0)) + margin + 1
    return int(x0), int(y0), int(x1), int(y1)


def frame(texture, whole=(0.0, 0.0), patch=None, local=(0.0, 0.0)):
    """A grey uint8 crop of `texture` moved by `whole` (dx, dy) px, and inside `patch` by `local` more."""
    moved = ndimage.shift(texture, (whole[1], whole[0]), order=3, mode="reflect")
    if patch is not None:
        x0, y0, x1, y1 = (c + PAD for c in patch)
        both = ndimage.shift(texture, (whole[1] + local[1], whole[0] + local[0]), order=3, mode="reflect")
        moved[y0:y1, x0:x1] = both[y0:y1, x0:x1]
    return np.clip(np.round(moved[PAD:PAD + SIZE, PAD:PAD + SIZE]), 0, 255).astype(np.uint8)


def as_regions(features):
    """[..., 36] -> [..., 18, 2] (dx, dy per region)."""
    return np.asarray(features).reshape(features.shape[:-1] + (len(flow_features.REGION_NAMES), 2))


def test_feature_layout_is_eighteen_regions_of_dx_dy():
    assert len(flow_features.REGION_NAMES) == 18
    assert len(set(flow_features.REGION_NAMES)) == 18
    assert flow_features.NUM_FEATURES == 36


def test_the_mouth_landmarks_select_the_six_mouth_regions(landmarks):
    """The helper lists of this file: six mouth regions (box, two corners, three lips), twelve others."""
    assert len(MOUTH_REGIONS) == 6 and len(OTHER_REGIONS) == 12
    boxes = flow_features.region_boxes(landmarks, SIZE)
    px0, py0, px1, py1 = mouth_patch(landmarks, margin=0)
    for i in MOUTH_REGIONS:      # every mouth region's box reaches into the mouth's landmark box
        x0, y0, x1, y1 = boxes[i]
        assert x0 < px1 and px0 < x1 and y0 < py1 and py0 < y1


def test_a_mouth_moved_by_two_pixels_right_and_one_up_reads_that_and_the_rest_reads_zero(texture, landmarks):
    patch = mouth_patch(landmarks)
    clip = [frame(texture, patch=patch, local=s * MOTION) for s in STEPS]
    features = as_regions(flow_features.region_trajectories(clip, landmarks, SIZE))
    assert features.shape == (len(STEPS), 18, 2)
    expected = STEPS[:, None] * MOTION                    # [T, 2]: each frame's displacement since the first
    for i in MOUTH_REGIONS:
        np.testing.assert_allclose(features[:, i], expected, atol=TOLERANCE,
                                   err_msg=flow_features.REGION_NAMES[i])
    np.testing.assert_allclose(features[:, OTHER_REGIONS], 0.0, atol=TOLERANCE)


def test_moving_the_whole_image_reads_zero_everywhere_because_the_nose_moves_too(texture, landmarks):
    shift = np.array([1.5, 1.0])
    clip = [frame(texture, whole=s * shift) for s in STEPS]
    features = flow_features.region_trajectories(clip, landmarks, SIZE)
    np.testing.assert_allclose(features, 0.0, atol=TOLERANCE)
    # ... while the nose itself did move: the raw motion in its box is the shift.
    boxes = flow_features.region_boxes(landmarks, SIZE)
    nose = flow_features.pooled_motion(flow_features.farneback(clip[0], clip[-1]), boxes[-1:])[0]
    np.testing.assert_allclose(nose, shift, atol=TOLERANCE)


def test_a_mouth_moving_on_a_moving_head_reads_only_its_own_motion(texture, landmarks):
    head = np.array([-1.0, 1.5])
    clip = [frame(texture, whole=s * head, patch=mouth_patch(landmarks), local=s * MOTION) for s in STEPS]
    features = as_regions(flow_features.region_trajectories(clip, landmarks, SIZE))
    np.testing.assert_allclose(features[-1, MOUTH_REGIONS], np.broadcast_to(MOTION, (6, 2)), atol=TOLERANCE)
    np.testing.assert_allclose(features[-1, OTHER_REGIONS], 0.0, atol=TOLERANCE)


def test_anchoring_every_frame_and_anchoring_once_agree_on_a_smooth_motion(texture, landmarks):
    steps = np.linspace(0.0, 1.0, 9)
    clip = [frame(texture, patch=mouth_patch(landmarks), local=s * MOTION) for s in steps]
    chained = flow_features.region_trajectories(clip, landmarks, SIZE, anchor_every=1)
    direct = flow_features.region_trajectories(clip, landmarks, SIZE, anchor_every=1000)
    every_third = flow_features.region_trajectories(clip, landmarks, SIZE, anchor_every=3)
    assert not np.array_equal(chained, direct)    # different flows were computed...
    np.testing.assert_allclose(chained, direct, atol=TOLERANCE)     # ...measuring the same motion
    np.testing.assert_allclose(every_third, direct, atol=TOLERANCE)
    np.testing.assert_allclose(as_regions(direct)[-1, MOUTH_REGIONS], np.broadcast_to(MOTION, (6, 2)),
                               atol=TOLERANCE)


def test_the_tracker_fed_one_frame_at_a_time_gives_the_stored_rows(texture, landmarks):
    clip = [frame(texture, patch=mouth_patch(landmarks), local=s * MOTION) for s in STEPS]
    tracker = flow_features.TrajectoryTracker(landmarks, SIZE, anchor_every=2)
    rows = np.stack([tracker.update(f) for f in clip])
    np.testing.assert_array_equal(rows, flow_features.region_trajectories(clip, landmarks, SIZE, anchor_every=2))
    np.testing.assert_array_equal(rows[0], 0.0)       # the first frame is where every trajectory starts
    assert rows.dtype == np.float32


def test_rgb_frames_read_as_their_grey_luma(texture, landmarks):
    grey = [frame(texture, patch=mouth_patch(landmarks), local=s * MOTION) for s in STEPS]
    rgb = [np.repeat(g[..., None], 3, axis=-1) for g in grey]    # R = G = B: the luma is the grey value
    np.testing.assert_array_equal(flow_features.to_grey(rgb[2]), grey[2])
    np.testing.assert_array_equal(flow_features.region_trajectories(rgb, landmarks, SIZE),
                                  flow_features.region_trajectories(grey, landmarks, SIZE))


def test_relative_to_window_start_zeroes_the_first_row_and_keeps_differences():
    rng = np.random.default_rng(0)
    trajectories = rng.normal(size=(3, 7, flow_features.NUM_FEATURES)).astype(np.float32)   # 3 windows of 7
    relative = flow_features.relative_to_window_start(trajectories)
    assert relative.shape == trajectories.shape
    np.testing.assert_array_equal(relative[:, 0], 0.0)
    np.testing.assert_allclose(np.diff(relative, axis=1), np.diff(trajectories, axis=1), atol=1e-6)
    # The second window's row 4 is its motion from its row 0: the trajectories' difference.
    np.testing.assert_allclose(relative[1, 4], trajectories[1, 4] - trajectories[1, 0], atol=1e-6)
    single = flow_features.relative_to_window_start(trajectories[2])
    np.testing.assert_allclose(single, relative[2], atol=1e-6)


def test_pooled_motion_is_the_mean_inside_each_box():
    flow = np.zeros((10, 12, 2), np.float32)
    flow[2:4, 3:6] = (1.0, -2.0)            # 6 pixels moving
    boxes = np.array([[3, 2, 6, 4],          # exactly the moving pixels
                      [0, 0, 6, 4],          # 24 pixels, 6 moving: a quarter of the motion
                      [8, 5, 12, 10]])       # still
    np.testing.assert_allclose(flow_features.pooled_motion(flow, boxes),
                               [[1.0, -2.0], [0.25, -0.5], [0.0, 0.0]])


@pytest.mark.parametrize("size", [32, 96, 112, 224])
def test_region_boxes_lie_inside_the_crop_with_positive_area(size):
    for subject in range(4):
        points = synthetic.face_landmarks(synthetic.make_identity(np.random.default_rng([5, subject])), size)
        boxes = flow_features.region_boxes(points, size)
        assert boxes.shape == (19, 4) and boxes.dtype == np.int32
        assert (boxes[:, :2] >= 0).all() and (boxes[:, 2:] <= size).all()
        assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()


def test_region_boxes_of_landmarks_off_the_crop_are_clipped_to_it():
    rng = np.random.default_rng(1)
    points = rng.uniform(-40, 140, size=(68, 2))        # a landmark fit that wandered off a 64-px crop
    points[48:68] = (-30.0, 90.0)                        # the whole mouth outside, below-left
    boxes = flow_features.region_boxes(points, 64)
    assert (boxes[:, :2] >= 0).all() and (boxes[:, 2:] <= 64).all()
    assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()


def test_point_regions_are_centred_on_their_landmark(landmarks):
    boxes = flow_features.region_boxes(landmarks, SIZE)
    names = flow_features.REGION_NAMES
    for name, point in (("mouth_corner_48", 48), ("upper_lip_51", 51), ("left_brow_19", 19)):
        x0, y0, x1, y1 = boxes[names.index(name)]
        assert abs((x0 + x1) / 2 - landmarks[point, 0]) <= 1.0
        assert abs((y0 + y1) / 2 - landmarks[point, 1]) <= 1.0
        assert x1 - x0 == pytest.approx(2 * SIZE / 32, abs=1.0)    # half side 1/32 of the crop


def test_a_frame_of_the_wrong_size_is_refused(landmarks):
    tracker = flow_features.TrajectoryTracker(landmarks, SIZE)
    tracker.update(np.zeros((SIZE, SIZE), np.uint8))
    with pytest.raises(ValueError, match="96x96"):
        tracker.update(np.zeros((64, 64), np.uint8))
    with pytest.raises(ValueError):
        flow_features.region_trajectories([np.zeros((SIZE, SIZE + 1, 3), np.uint8)], landmarks, SIZE)


def test_anchor_every_below_one_is_refused(landmarks):
    with pytest.raises(ValueError, match="anchor_every"):
        flow_features.TrajectoryTracker(landmarks, SIZE, anchor_every=0)


def test_no_frames_give_no_rows(landmarks):
    empty = flow_features.region_trajectories([], landmarks, SIZE)
    assert empty.shape == (0, 36) and empty.dtype == np.float32
