//! Convolution and pooling in PyTorch's layouts (NCHW input, OIHW kernels),
//! built from two primitives, `unfold2d` (im2col) and its adjoint `fold2d`,
//! and ordinary recorded ops: every order of derivative is exact.

use crate::op::{op_family, Op};
use crate::{Element, Var, Window2d};

op_family! {
    /// Sliding windows over images.
    "conv" enum Conv {
        /// Every sliding window of `[N, C, H, W]` as a column of `[N, C kh kw, L]`.
        Unfold2d { window: Window2d, pad_value: f64 } "unfold2d",
            "the adjoint of unfold is fold: g.fold2d(input size, window)",
            |c| {
                let s = c.x[0].shape();
                c.g.fold2d((s[2], s[3]), window)
            };
        /// Columns `[N, C kh kw, L]` summed back into `[N, C, H, W]`.
        Fold2d { window: Window2d } "fold2d",
            "the adjoint of fold is unfold (padding reads 0): g.unfold2d(window, 0)",
            |c| c.g.unfold2d(window, T::zero());
        /// Every sliding window of `[N, C, H, W]` as a column of
        /// `[C kh kw, N L]`, the images side by side (padding reads 0).
        Im2col { window: Window2d } "im2col",
            "the adjoint of im2col is col2im: g.col2im(input size, window)",
            |c| {
                let s = c.x[0].shape();
                c.g.col2im((s[2], s[3]), window)
            };
        /// Columns `[C kh kw, N L]` summed back into `[N, C, H, W]`.
        Col2im { window: Window2d } "col2im",
            "the adjoint of col2im is im2col: g.im2col(window)",
            |c| c.g.im2col(window);
        /// The sum of each `kh x kw` block of every plane, times `scale`
        /// (pooling whose windows tile the image).
        BlockSum2d { kernel: (usize, usize), scale: f64 } "block_sum2d",
            "the adjoint is the spread: g.block_spread2d(input size, kernel, scale)",
            |c| {
                let s = c.x[0].shape();
                c.g.block_spread2d((s[2], s[3]), kernel, T::from_f64(scale))
            };
        /// Each value times `scale`, copied over its block of the image.
        BlockSpread2d { kernel: (usize, usize), scale: f64 } "block_spread2d",
            "the adjoint is the block sum: g.block_sum2d(kernel, scale)",
            |c| c.g.block_sum2d(kernel, T::from_f64(scale));
    }
}

/// Options of [`Var::conv2d`], as `torch.nn.functional.conv2d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvOptions {
    /// Step between windows, (height, width).
    pub stride: (usize, usize),
    /// Zero padding on both sides, (height, width).
    pub padding: (usize, usize),
    /// Spacing between kernel elements, (height, width).
    pub dilation: (usize, usize),
    /// Channel groups: input and output channels are split into this many
    /// groups, each convolved with its own kernels.
    pub groups: usize,
}

impl Default for ConvOptions {
    fn default() -> Self {
        Self {
            stride: (1, 1),
            padding: (0, 0),
            dilation: (1, 1),
            groups: 1,
        }
    }
}

impl<T: Element> Var<T> {
    /// PyTorch's `unfold`: every sliding window of a `[N, C, H, W]` value as
    /// a column of `[N, C * kh * kw, L]` (see [`crate::Tensor::unfold2d`]);
    /// the padding reads `pad_value`.
    pub fn unfold2d(&self, window: Window2d, pad_value: T) -> Var<T> {
        let value = self.with_value(|x| x.unfold2d(window, pad_value));
        let op = Op::Conv(Conv::Unfold2d {
            window,
            pad_value: pad_value.as_f64(),
        });
        self.record(op, &[self], value)
    }

    /// PyTorch's `fold`, the adjoint of [`Var::unfold2d`]: columns summed
    /// back into an image of `size = (H, W)`.
    pub fn fold2d(&self, size: (usize, usize), window: Window2d) -> Var<T> {
        let value = self.with_value(|x| x.fold2d(size, window));
        self.record(Op::Conv(Conv::Fold2d { window }), &[self], value)
    }

    /// im2col over the batch: every sliding window of a `[N, C, H, W]`
    /// value as a column of `[C * kh * kw, N * L]`, image after image (see
    /// [`crate::Tensor::im2col`]); the padding reads 0. A convolution is
    /// then one product for the whole batch.
    pub fn im2col(&self, window: Window2d) -> Var<T> {
        let value = self.with_value(|x| x.im2col(window));
        self.record(Op::Conv(Conv::Im2col { window }), &[self], value)
    }

    /// The adjoint of [`Var::im2col`]: columns `[C * kh * kw, N * L]`
    /// summed back into images of `size = (H, W)`.
    pub fn col2im(&self, size: (usize, usize), window: Window2d) -> Var<T> {
        let value = self.with_value(|x| x.col2im(size, window));
        self.record(Op::Conv(Conv::Col2im { window }), &[self], value)
    }

    /// The sum of each `kh x kw` block of every image plane, times `scale`
    /// (see [`crate::Tensor::block_sum2d`]): pooling whose windows tile
    /// the image, without gathering them into columns first.
    pub fn block_sum2d(&self, kernel: (usize, usize), scale: T) -> Var<T> {
        let value = self.with_value(|x| x.block_sum2d(kernel, scale));
        let op = Op::Conv(Conv::BlockSum2d {
            kernel,
            scale: scale.as_f64(),
        });
        self.record(op, &[self], value)
    }

    /// The adjoint of [`Var::block_sum2d`]: each value times `scale` over
    /// its block of an image of `size = (H, W)` (see
    /// [`crate::Tensor::block_spread2d`]).
    pub fn block_spread2d(&self, size: (usize, usize), kernel: (usize, usize), scale: T) -> Var<T> {
        let value = self.with_value(|x| x.block_spread2d(size, kernel, scale));
        let op = Op::Conv(Conv::BlockSpread2d {
            kernel,
            scale: scale.as_f64(),
        });
        self.record(op, &[self], value)
    }

    /// 2-D convolution (cross-correlation, as PyTorch): input `[N, C, H, W]`,
    /// `weight` `[O, C / groups, kh, kw]`, optional `bias` `[O]`; output
    /// `[N, O, oh, ow]`. Built as im2col, one product and a permutation, so
    /// its derivatives of every order are exact. Panics, naming the shapes,
    /// when channels, groups or the window do not fit.
    ///
    /// ```
    /// use curvature_autograd::{ConvOptions, Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::<f64>::ones(&[1, 1, 4, 4]));
    /// let w = tape.var(Tensor::<f64>::ones(&[2, 1, 3, 3]));
    /// let y = x.conv2d(&w, None, ConvOptions { padding: (1, 1), ..Default::default() });
    /// assert_eq!(y.shape().as_slice(), &[1, 2, 4, 4]);
    /// assert_eq!(y.value().get(&[0, 0, 1, 1]), 9.0); // a full 3x3 window of ones
    /// assert_eq!(y.value().get(&[0, 1, 0, 0]), 4.0); // a corner sees 2x2 of them
    /// ```
    pub fn conv2d(&self, weight: &Var<T>, bias: Option<&Var<T>>, options: ConvOptions) -> Var<T> {
        self.check_same_tape(weight, "conv2d");
        let (xs, ws) = (self.shape(), weight.shape());
        let (n, c, h, w) = match *xs.as_slice() {
            [n, c, h, w] => (n, c, h, w),
            _ => panic!("conv2d: expects an input [N, C, H, W], got shape {xs:?}"),
        };
        let (o, cg, kh, kw) = match *ws.as_slice() {
            [o, cg, kh, kw] => (o, cg, kh, kw),
            _ => panic!("conv2d: expects a weight [O, C / groups, kh, kw], got shape {ws:?}"),
        };
        let g = options.groups;
        assert!(
            g > 0 && c % g == 0 && o % g == 0,
            "conv2d: groups {g} must divide the input channels ({c}) and the output channels ({o}) \
             (input {xs:?}, weight {ws:?})"
        );
        assert_eq!(
            cg,
            c / g,
            "conv2d: the weight {ws:?} expects {} input channels per group, the input {xs:?} has {} \
             ({c} channels in {g} groups)",
            cg,
            c / g
        );
        let window = Window2d {
            kernel: (kh, kw),
            stride: options.stride,
            padding: options.padding,
            dilation: options.dilation,
        };
        let (oh, ow) = window
            .output_size((h, w))
            .unwrap_or_else(|e| panic!("conv2d: input {xs:?}, weight {ws:?}: {e}"));
        let og = o / g;
        // The [N L, cg kh kw] windows of the whole batch (the transpose of
        // im2col's columns) against the [cg kh kw, og] kernels: one product,
        // whose derivatives (the kernels' gradient cols G, the windows'
        // G W) are one product each too, with the long N L dimension as
        // their rows, which gemm runs fastest. The output is [N, oh, ow, O]
        // (channels last), seen as [N, O, oh, ow].
        let per_group = |x: &Var<T>, wg: &Var<T>| {
            let windows = x.im2col(window).transpose(0, 1);
            windows.matmul(&wg.reshape(&[og, cg * kh * kw]).transpose(0, 1))
        };
        let out = if g == 1 {
            per_group(self, weight)
        } else {
            let parts: Vec<Var<T>> = (0..g)
                .map(|k| per_group(&self.narrow(1, k * cg, cg), &weight.narrow(0, k * og, og)))
                .collect();
            Var::concat(&parts, 1)
        };
        let out = out.reshape(&[n, oh, ow, o]).permute(&[0, 3, 1, 2]);
        match bias {
            Some(b) => {
                assert_eq!(
                    b.shape().as_slice(),
                    &[o],
                    "conv2d: bias of shape {:?} does not match {o} output channels",
                    b.shape().as_slice()
                );
                &out + &b.reshape(&[1, o, 1, 1])
            }
            None => out,
        }
    }

    /// Windows of each channel of `[N, C, H, W]` as `[N C, kh kw, L]`, with
    /// the output size.
    fn pool_windows(&self, op: &str, window: Window2d, pad_value: T) -> (Var<T>, usize, usize) {
        let s = self.shape();
        let (n, c, h, w) = match *s.as_slice() {
            [n, c, h, w] => (n, c, h, w),
            _ => panic!("{op}: expects an input [N, C, H, W], got shape {s:?}"),
        };
        let (oh, ow) = window
            .output_size((h, w))
            .unwrap_or_else(|e| panic!("{op}: input {s:?}: {e}"));
        let cols = self.reshape(&[n * c, 1, h, w]).unfold2d(window, pad_value);
        (cols, oh, ow)
    }

    /// Max pooling over windows of `kernel` (PyTorch's `max_pool2d`; its
    /// stride defaults to the kernel there: pass it explicitly here). The
    /// padding reads -infinity, so it is never the maximum. The gradient
    /// goes to the first largest element of each window.
    pub fn max_pool2d(
        &self,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Var<T> {
        let window = Window2d::new(kernel).stride(stride).padding(padding);
        let s = self.shape();
        let (cols, oh, ow) = self.pool_windows("max_pool2d", window, T::neg_infinity());
        cols.max_dim(1, false).reshape(&[s[0], s[1], oh, ow])
    }

    /// Average pooling over windows of `kernel` (PyTorch's `avg_pool2d`,
    /// counting the zero padding in the mean, as its default does). When
    /// the windows tile the image (stride = kernel, no padding) it is one
    /// [`Var::block_sum2d`]; otherwise the mean of each window's column.
    pub fn avg_pool2d(
        &self,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Var<T> {
        let window = Window2d::new(kernel).stride(stride).padding(padding);
        let s = self.shape();
        let fits = s.len() == 4 && kernel.0 <= s[2] && kernel.1 <= s[3];
        if stride == kernel && padding == (0, 0) && kernel.0 * kernel.1 > 0 && fits {
            let scale = T::from_f64(1.0 / (kernel.0 * kernel.1) as f64);
            return self.block_sum2d(kernel, scale);
        }
        let (cols, oh, ow) = self.pool_windows("avg_pool2d", window, T::zero());
        cols.mean_dim(1, false).reshape(&[s[0], s[1], oh, ow])
    }

    /// The mean over each channel's image, `[N, C, H, W] -> [N, C, 1, 1]`
    /// (`adaptive_avg_pool2d` to 1x1, a global average).
    pub fn adaptive_avg_pool2d_1x1(&self) -> Var<T> {
        let s = self.shape();
        assert_eq!(
            s.len(),
            4,
            "adaptive_avg_pool2d: expects an input [N, C, H, W], got shape {s:?}"
        );
        self.mean_dim(3, true).mean_dim(2, true)
    }

    /// All dimensions from `start` on merged into one (PyTorch's
    /// `flatten(start_dim)`; `flatten_from(1)` turns `[N, C, H, W]` into
    /// `[N, C H W]`).
    pub fn flatten_from(&self, start: usize) -> Var<T> {
        let s = self.shape();
        assert!(
            start < s.len().max(1),
            "flatten_from: dimension {start} is out of range for shape {s:?}"
        );
        let mut shape: Vec<usize> = s[..start].to_vec();
        shape.push(s[start..].iter().product());
        self.reshape(&shape)
    }
}
