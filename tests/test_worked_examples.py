"""Small examples worked out by hand (the same ones the chapters show)."""

import numpy as np
import pytest

from cnnlib import avg_pool2d, conv2d, conv2d_as_matrix, conv2d_backward, conv2d_naive, max_pool2d

IMAGE = np.array(
    [
        [1, 1, 1, 0, 0],
        [0, 1, 1, 1, 0],
        [0, 0, 1, 1, 1],
        [0, 0, 1, 1, 0],
        [0, 1, 1, 0, 0],
    ]
)
X_KERNEL = np.array(
    [
        [1, 0, 1],
        [0, 1, 0],
        [1, 0, 1],
    ]
)


@pytest.mark.parametrize("conv", [conv2d, conv2d_naive])
def test_x_kernel_on_binary_image(conv):
    # The kernel adds up the four corners and the centre of each 3x3 window.
    # Output (0, 0), window rows 0..2, columns 0..2:
    #     corners x[0,0] + x[0,2] + x[2,0] + x[2,2] = 1 + 1 + 0 + 1 = 3
    #     centre  x[1,1]                          = 1
    #     total                                     4
    # Output (0, 1), columns 1..3: corners x[0,1] + x[0,3] + x[2,1] + x[2,3] = 1 + 0 + 0 + 1,
    #     centre x[1,2] = 1: total 3.
    # Output (1, 0), rows 1..3, columns 0..2: corners 0 + 1 + 0 + 1, centre x[2,1] = 0: total 2.
    # The others the same way; a 5x5 image and a 3x3 kernel leave 5 - 3 + 1 = 3 positions per axis.
    expected = np.array(
        [
            [4, 3, 4],
            [2, 4, 3],
            [2, 3, 4],
        ]
    )
    y = conv(IMAGE[None, None], X_KERNEL[None, None])
    assert y.shape == (1, 1, 3, 3)
    np.testing.assert_array_equal(y[0, 0], expected)


def test_x_kernel_with_same_padding():
    # With one ring of zeros the output keeps the 5x5 size. The corner output (0, 0)
    # only sees x[0,0] (centre) and x[1,1] (bottom-right corner): 1 + 1 = 2.
    y = conv2d(IMAGE[None, None], X_KERNEL[None, None], padding="same")
    assert y.shape == (1, 1, 5, 5)
    assert y[0, 0, 0, 0] == 2
    np.testing.assert_array_equal(y[0, 0, 1:4, 1:4], [[4, 3, 4], [2, 4, 3], [2, 3, 4]])


# A step edge: dark (0) on the left, bright (1) on the right, 4 identical rows.
STEP = np.array([[0, 0, 0, 1, 1, 1]] * 4)
DIFF = np.array([[-1, 1]])  # y[i, j] = -x[i, j] + x[i, j + 1]


def test_difference_kernel_finds_the_step():
    # Width 6, kernel width 2: 5 outputs per row. y[j] = x[j+1] - x[j]:
    #   j = 0: 0 - 0 = 0;  j = 1: 0 - 0 = 0;  j = 2: x[3] - x[2] = 1 - 0 = 1;  j = 3: 1 - 1 = 0;  j = 4: 0.
    # The response is 1 exactly where dark turns bright, 0 on the flat parts.
    y = conv2d(STEP[None, None], DIFF[None, None])
    np.testing.assert_array_equal(y[0, 0], [[0, 0, 1, 0, 0]] * 4)
    # Cross-correlation does not flip the kernel: a true convolution would give -1 here.
    flipped = conv2d(STEP[None, None], DIFF[None, None, :, ::-1])
    np.testing.assert_array_equal(flipped[0, 0], [[0, 0, -1, 0, 0]] * 4)
    # The same kernel turned vertical sees no change down the columns: all zeros.
    np.testing.assert_array_equal(conv2d(STEP[None, None], DIFF.T[None, None]), np.zeros((1, 1, 3, 6)))


def test_difference_kernel_gradient_is_a_sum_over_positions():
    # With dL/dy = 1 at all 4 x 5 outputs, the gradient of the shared weight w[0, v]
    # is the sum of the pixels it multiplied, over all 20 positions:
    #   w[0, 0] multiplies x[i, j]   for j = 0..4: per row 0+0+0+1+1 = 2, times 4 rows = 8
    #   w[0, 1] multiplies x[i, j+1] for j = 0..4: per row 0+0+1+1+1 = 3, times 4 rows = 12
    # and the bias, added at all 20 positions, gets 20.
    dout = np.ones((1, 1, 4, 5))
    dx, dw, db = conv2d_backward(dout, STEP[None, None], DIFF[None, None], np.zeros(1))
    np.testing.assert_array_equal(dw[0, 0], [[8, 12]])
    np.testing.assert_array_equal(db, [20])
    # Each pixel gets w[0,0] = -1 from the window starting on it and w[0,1] = +1 from the
    # window before it: 0 in the middle, -1 in the first column, +1 in the last.
    np.testing.assert_array_equal(dx[0, 0], [[-1, 0, 0, 0, 0, 1]] * 4)


def test_difference_kernel_as_a_matrix():
    # One row of the step, 1 x 6: the matrix has a -1, 1 pair in every row, shifted right by one each row.
    m = conv2d_as_matrix(DIFF[None, None].astype(float), (1, 1, 6), dense=True)
    np.testing.assert_array_equal(
        m,
        [
            [-1, 1, 0, 0, 0, 0],
            [0, -1, 1, 0, 0, 0],
            [0, 0, -1, 1, 0, 0],
            [0, 0, 0, -1, 1, 0],
            [0, 0, 0, 0, -1, 1],
        ],
    )
    np.testing.assert_array_equal(m @ STEP[0], [0, 0, 1, 0, 0])


def test_pooling_by_hand():
    x = np.array(
        [
            [1, 3, 2, 0],
            [4, 2, 1, 1],
            [0, 1, 5, 6],
            [2, 2, 7, 8],
        ]
    )[None, None]
    # 2x2 windows, stride 2: top-left {1,3,4,2}, top-right {2,0,1,1}, bottom-left {0,1,2,2}, bottom-right {5,6,7,8}
    np.testing.assert_array_equal(max_pool2d(x, 2)[0, 0], [[4, 2], [2, 8]])
    np.testing.assert_array_equal(avg_pool2d(x, 2)[0, 0], [[10 / 4, 4 / 4], [5 / 4, 26 / 4]])
