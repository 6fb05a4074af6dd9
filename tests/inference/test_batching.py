"""The one padded batcher: every row's output, one compiled shape, the padding never seen."""

import numpy as np
import pytest

from meint_jax.inference import batching


@pytest.mark.parametrize("rows", [1, 4, 5, 9])
def test_every_row_comes_back_once_in_order_from_fixed_size_batches(rows):
    seen_shapes = []

    def double(batch):
        seen_shapes.append(batch.shape)
        return batch * 2

    inputs = np.arange(rows * 3).reshape(rows, 3)
    out = batching.in_batches(double, inputs, batch_size=4)
    np.testing.assert_array_equal(out, inputs * 2)
    assert set(seen_shapes) == {(4, 3)} and len(seen_shapes) == -(-rows // 4)


def test_the_last_batch_is_padded_with_copies_of_its_last_row():
    batches = []
    batching.in_batches(lambda b: batches.append(b.copy()) or b, np.arange(5)[:, None], batch_size=4)
    np.testing.assert_array_equal(batches[-1][:, 0], [4, 4, 4, 4])
