//! Sliding windows over images: `unfold` (im2col) and its adjoint `fold`
//! (col2im), in PyTorch's NCHW layout. Convolution and pooling are built on
//! them (a product, a maximum or a mean over each window's column).

use super::Tensor;
use crate::shape::shape_of;
use crate::{threads, Element};

/// The geometry of a 2-D sliding window: kernel, stride, padding and
/// dilation, each as (height, width), as `torch.nn.functional.unfold`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window2d {
    /// Kernel size.
    pub kernel: (usize, usize),
    /// Step between windows.
    pub stride: (usize, usize),
    /// Implicit padding added on both sides.
    pub padding: (usize, usize),
    /// Spacing between kernel elements.
    pub dilation: (usize, usize),
}

impl Window2d {
    /// A window of `kernel` with stride 1, no padding, no dilation.
    pub fn new(kernel: (usize, usize)) -> Self {
        Self {
            kernel,
            stride: (1, 1),
            padding: (0, 0),
            dilation: (1, 1),
        }
    }

    /// Sets the stride.
    pub fn stride(mut self, stride: (usize, usize)) -> Self {
        self.stride = stride;
        self
    }

    /// Sets the padding.
    pub fn padding(mut self, padding: (usize, usize)) -> Self {
        self.padding = padding;
        self
    }

    /// Sets the dilation.
    pub fn dilation(mut self, dilation: (usize, usize)) -> Self {
        self.dilation = dilation;
        self
    }

    /// The output size `(oh, ow)` over an input of `(h, w)`, or a message
    /// saying why there is none.
    pub fn output_size(&self, (h, w): (usize, usize)) -> Result<(usize, usize), String> {
        let (kh, kw) = self.kernel;
        let (sh, sw) = self.stride;
        let (dh, dw) = self.dilation;
        if kh == 0 || kw == 0 || sh == 0 || sw == 0 || dh == 0 || dw == 0 {
            return Err(format!(
                "kernel {:?}, stride {:?} and dilation {:?} must be positive",
                self.kernel, self.stride, self.dilation
            ));
        }
        let span = |k: usize, d: usize| d * (k - 1) + 1;
        let (ph, pw) = (h + 2 * self.padding.0, w + 2 * self.padding.1);
        let (eh, ew) = (span(kh, dh), span(kw, dw));
        if eh > ph || ew > pw {
            return Err(format!(
                "the kernel {:?} (dilated to {:?}) is larger than the padded input {:?}",
                self.kernel,
                (eh, ew),
                (ph, pw)
            ));
        }
        Ok(((ph - eh) / sh + 1, (pw - ew) / sw + 1))
    }

    /// For output position `o` along one axis and kernel offset `k`, the
    /// input index, or `None` when it falls in the padding.
    #[inline]
    fn source(
        o: usize,
        k: usize,
        stride: usize,
        dilation: usize,
        pad: usize,
        size: usize,
    ) -> Option<usize> {
        (o * stride + k * dilation)
            .checked_sub(pad)
            .filter(|&i| i < size)
    }
}

/// A tap in the padding.
const PAD: u32 = u32::MAX;

/// Where each tap of one image plane's windows reads, in `unfold2d`'s
/// column order (kernel row, kernel column, window row, window column):
/// its index in the `[h, w]` plane, or [`PAD`]. The same for every plane of
/// every image, so it is made once per call: `unfold2d` gathers through
/// it, `fold2d` scatters back through it, each a tight loop over the taps.
fn tap_map((h, w): (usize, usize), window: Window2d, (oh, ow): (usize, usize)) -> Vec<u32> {
    assert!(
        h * w < PAD as usize,
        "unfold2d: an image plane of {h}x{w} is too large"
    );
    let (kh, kw) = window.kernel;
    let mut taps = Vec::with_capacity(kh * kw * oh * ow);
    for ki in 0..kh {
        for kj in 0..kw {
            for oi in 0..oh {
                let (sh, dh, ph) = (window.stride.0, window.dilation.0, window.padding.0);
                let row = Window2d::source(oi, ki, sh, dh, ph, h);
                for oj in 0..ow {
                    let (sw, dw, pw) = (window.stride.1, window.dilation.1, window.padding.1);
                    let col = Window2d::source(oj, kj, sw, dw, pw, w);
                    taps.push(row.zip(col).map_or(PAD, |(r, q)| (r * w + q) as u32));
                }
            }
        }
    }
    taps
}

/// `[n, c, h, w]` of a 4-D shape, panicking with the op's name otherwise.
fn nchw(op: &str, shape: &[usize]) -> (usize, usize, usize, usize) {
    match *shape {
        [n, c, h, w] => (n, c, h, w),
        _ => panic!("{op}: expects a 4-D input [N, C, H, W], got shape {shape:?}"),
    }
}

impl<T: Element> Tensor<T> {
    /// PyTorch's `unfold` (im2col): every sliding window of a `[N, C, H, W]`
    /// input as a column, giving `[N, C * kh * kw, L]` with `L = oh * ow`
    /// windows; positions in the padding read `pad_value` (0 for a
    /// convolution, -inf for max pooling). Panics, naming the shapes, when
    /// the window does not fit.
    ///
    /// ```
    /// use curvature_autograd::{Tensor, Window2d};
    /// let x = Tensor::from_vec((0..9).map(f64::from).collect(), &[1, 1, 3, 3]);
    /// let cols = x.unfold2d(Window2d::new((2, 2)), 0.0);
    /// assert_eq!(cols.shape(), &[1, 4, 4]);
    /// // the first window is [[0, 1], [3, 4]]
    /// assert_eq!((cols.get(&[0, 0, 0]), cols.get(&[0, 3, 0])), (0.0, 4.0));
    /// ```
    pub fn unfold2d(&self, window: Window2d, pad_value: T) -> Tensor<T> {
        let (n, c, h, w) = nchw("unfold2d", self.shape());
        let (oh, ow) = window
            .output_size((h, w))
            .unwrap_or_else(|e| panic!("unfold2d: input of shape {:?}: {e}", self.shape()));
        let (kh, kw) = window.kernel;
        let l = oh * ow;
        let x = self.contiguous();
        let src = x.as_slice();
        let taps = tap_map((h, w), window, (oh, ow));
        // taps in the padding keep the pad value: PAD is out of every plane
        let mut out = vec![pad_value; n * c * taps.len()];
        if h * w > 0 {
            // whole planes per thread
            threads::for_chunks(&mut out, taps.len(), |start, chunk| {
                let planes = src[start / taps.len() * h * w..].chunks_exact(h * w);
                for (dst, plane) in chunk.chunks_exact_mut(taps.len()).zip(planes) {
                    for (d, &i) in dst.iter_mut().zip(&taps) {
                        if let Some(&v) = plane.get(i as usize) {
                            *d = v;
                        }
                    }
                }
            });
        }
        Tensor::from_parts(out, shape_of(&[n, c * kh * kw, l]))
    }

    /// PyTorch's `fold` (col2im), the adjoint of [`Tensor::unfold2d`]: sums
    /// columns `[N, C * kh * kw, L]` back into a `[N, C, H, W]` image of
    /// `size = (H, W)`, adding where windows overlap and dropping what
    /// falls in the padding.
    pub fn fold2d(&self, size: (usize, usize), window: Window2d) -> Tensor<T> {
        let (h, w) = size;
        let (kh, kw) = window.kernel;
        let (n, ckk, l) = match *self.shape() {
            [n, ckk, l] => (n, ckk, l),
            _ => panic!(
                "fold2d: expects columns [N, C * kh * kw, L], got shape {:?}",
                self.shape()
            ),
        };
        let (oh, ow) = window
            .output_size((h, w))
            .unwrap_or_else(|e| panic!("fold2d: output size {size:?}: {e}"));
        assert!(
            ckk % (kh * kw) == 0 && l == oh * ow,
            "fold2d: columns of shape {:?} do not match a {kh}x{kw} window over {size:?} \
             ({} windows)",
            self.shape(),
            oh * ow
        );
        let c = ckk / (kh * kw);
        let x = self.contiguous();
        let src = x.as_slice();
        let mut out = vec![T::zero(); n * c * h * w];
        let taps = tap_map((h, w), window, (oh, ow));
        if h * w > 0 {
            // whole planes per thread, each reading its planes' columns
            threads::for_chunks_of_work(&mut out, h * w, src.len(), |start, chunk| {
                let columns = src[start / (h * w) * taps.len()..].chunks_exact(taps.len());
                for (plane, columns) in chunk.chunks_exact_mut(h * w).zip(columns) {
                    for (&i, &v) in taps.iter().zip(columns) {
                        // PAD is out of every plane: padding taps are dropped
                        if let Some(d) = plane.get_mut(i as usize) {
                            *d += v;
                        }
                    }
                }
            });
        }
        Tensor::from_parts(out, shape_of(&[n, c, h, w]))
    }
}

impl<T: Element> Tensor<T> {
    /// The columns of every image side by side (im2col over the batch):
    /// each sliding window of a `[N, C, H, W]` input as a column of
    /// `[C * kh * kw, N * L]`, image by image (`L = oh * ow` windows per
    /// image); the padding reads 0. The same values as
    /// [`Tensor::unfold2d`], laid out so that a convolution is one matrix
    /// product `[O, C kh kw] x [C kh kw, N L]` for the whole batch, and its
    /// kernel's gradient one product too, rather than one per image. Panics,
    /// naming the shapes, when the window does not fit.
    ///
    /// ```
    /// use curvature_autograd::{Tensor, Window2d};
    /// let x = Tensor::from_vec((0..18).map(f64::from).collect(), &[2, 1, 3, 3]);
    /// let cols = x.im2col(Window2d::new((2, 2)));
    /// assert_eq!(cols.shape(), &[4, 8]); // 4 taps; 2 images of 4 windows
    /// // the first window of the second image is [[9, 10], [12, 13]]
    /// assert_eq!((cols.get(&[0, 4]), cols.get(&[3, 4])), (9.0, 13.0));
    /// ```
    pub fn im2col(&self, window: Window2d) -> Tensor<T> {
        let (n, c, h, w) = nchw("im2col", self.shape());
        let (oh, ow) = window
            .output_size((h, w))
            .unwrap_or_else(|e| panic!("im2col: input of shape {:?}: {e}", self.shape()));
        let (kh, kw) = window.kernel;
        let (kk, l) = (kh * kw, oh * ow);
        let x = self.contiguous();
        let src = x.as_slice();
        let taps = tap_map((h, w), window, (oh, ow));
        let row = n * l;
        // taps in the padding keep the zero: PAD is out of every plane
        let mut out = vec![T::zero(); c * kk * row];
        if h * w > 0 && row > 0 {
            // whole rows (one channel's tap, every image) per thread
            threads::for_chunks(&mut out, row, |start, chunk| {
                for (r, dst) in chunk.chunks_exact_mut(row).enumerate() {
                    let (ch, k) = ((start / row + r) / kk, (start / row + r) % kk);
                    let taps = &taps[k * l..(k + 1) * l];
                    for (image, dst) in dst.chunks_exact_mut(l).enumerate() {
                        let plane = &src[(image * c + ch) * h * w..][..h * w];
                        for (d, &i) in dst.iter_mut().zip(taps) {
                            if let Some(&v) = plane.get(i as usize) {
                                *d = v;
                            }
                        }
                    }
                }
            });
        }
        Tensor::from_parts(out, shape_of(&[c * kk, n * l]))
    }

    /// The adjoint of [`Tensor::im2col`] (col2im over the batch): sums
    /// columns `[C * kh * kw, N * L]` back into `[N, C, H, W]` images of
    /// `size = (H, W)`, adding where windows overlap and dropping what
    /// falls in the padding.
    pub fn col2im(&self, size: (usize, usize), window: Window2d) -> Tensor<T> {
        let (h, w) = size;
        let (kh, kw) = window.kernel;
        let kk = kh * kw;
        let (ckk, nl) = match *self.shape() {
            [ckk, nl] => (ckk, nl),
            _ => panic!(
                "col2im: expects columns [C * kh * kw, N * L], got shape {:?}",
                self.shape()
            ),
        };
        let (oh, ow) = window
            .output_size((h, w))
            .unwrap_or_else(|e| panic!("col2im: output size {size:?}: {e}"));
        let l = oh * ow;
        assert!(
            ckk % kk == 0 && l > 0 && nl % l == 0,
            "col2im: columns of shape {:?} do not match a {kh}x{kw} window over {size:?} \
             ({l} windows per image)",
            self.shape(),
        );
        let (c, n) = (ckk / kk, nl / l);
        let mut out = vec![T::zero(); n * c * h * w];
        let taps = tap_map((h, w), window, (oh, ow));
        if self.strides().as_slice() == [1, ckk] && self.data.len() >= self.offset() + nl * ckk {
            // the transpose of a row-major [N L, C kh kw] (what a product
            // with the columns on the left gives): read it row by row, one
            // window of every channel at a time, image by image
            let src = &self.data[self.offset()..self.offset() + nl * ckk];
            // each window's taps together, in a row's order
            let by_window: Vec<u32> = (0..l)
                .flat_map(|li| (0..kk).map(move |k| (k, li)))
                .map(|(k, li)| taps[k * l + li])
                .collect();
            let image = c * h * w;
            if image > 0 {
                threads::for_chunks_of_work(&mut out, image, src.len(), |start, chunk| {
                    for (i, planes) in chunk.chunks_exact_mut(image).enumerate() {
                        let rows = &src[(start / image + i) * l * ckk..][..l * ckk];
                        for (row, window) in rows.chunks_exact(ckk).zip(by_window.chunks_exact(kk))
                        {
                            let channels = planes.chunks_exact_mut(h * w).zip(row.chunks_exact(kk));
                            for (plane, row) in channels {
                                for (&i, &v) in window.iter().zip(row) {
                                    // PAD is out of every plane: padding taps are dropped
                                    if let Some(d) = plane.get_mut(i as usize) {
                                        *d += v;
                                    }
                                }
                            }
                        }
                    }
                });
            }
            return Tensor::from_parts(out, shape_of(&[n, c, h, w]));
        }
        let x = self.contiguous();
        let src = x.as_slice();
        if h * w > 0 {
            // whole planes per thread, each reading its windows' columns
            threads::for_chunks_of_work(&mut out, h * w, src.len(), |start, chunk| {
                for (p, plane) in chunk.chunks_exact_mut(h * w).enumerate() {
                    let (image, ch) = ((start / (h * w) + p) / c, (start / (h * w) + p) % c);
                    for k in 0..kk {
                        let column = &src[(ch * kk + k) * nl + image * l..][..l];
                        for (&i, &v) in taps[k * l..(k + 1) * l].iter().zip(column) {
                            // PAD is out of every plane: padding taps are dropped
                            if let Some(d) = plane.get_mut(i as usize) {
                                *d += v;
                            }
                        }
                    }
                }
            });
        }
        Tensor::from_parts(out, shape_of(&[n, c, h, w]))
    }
}

impl<T: Element> Tensor<T> {
    /// The sum of each `kh x kw` block of every image plane, times `scale`:
    /// pooling whose windows tile the image (stride = kernel, no padding),
    /// `[N, C, H, W] -> [N, C, H / kh, W / kw]`; rows and columns past the
    /// last whole block are left out, as PyTorch's pooling does. With
    /// `scale = 1 / (kh kw)` it is `avg_pool2d(kernel, kernel)`. Panics,
    /// naming the shapes, when a block does not fit.
    ///
    /// ```
    /// use curvature_autograd::Tensor;
    /// let x = Tensor::from_vec((0..16).map(f64::from).collect(), &[1, 1, 4, 4]);
    /// let pooled = x.block_sum2d((2, 2), 0.25);
    /// assert_eq!(pooled.to_vec(), vec![2.5, 4.5, 10.5, 12.5]);
    /// ```
    pub fn block_sum2d(&self, kernel: (usize, usize), scale: T) -> Tensor<T> {
        let (n, c, h, w) = nchw("block_sum2d", self.shape());
        let (oh, ow) = blocks("block_sum2d", (h, w), kernel, self.shape());
        let (kh, kw) = kernel;
        let x = self.contiguous();
        let src = x.as_slice();
        let mut out = vec![T::zero(); n * c * oh * ow];
        if oh * ow > 0 {
            threads::for_chunks_of_work(&mut out, oh * ow, n * c * h * w, |start, chunk| {
                let planes = src[start / (oh * ow) * h * w..].chunks_exact(h * w);
                for (dst, plane) in chunk.chunks_exact_mut(oh * ow).zip(planes) {
                    for (oi, dst) in dst.chunks_exact_mut(ow).enumerate() {
                        for ki in 0..kh {
                            let row = &plane[(oi * kh + ki) * w..][..ow * kw];
                            for (d, block) in dst.iter_mut().zip(row.chunks_exact(kw)) {
                                *d += block.iter().fold(T::zero(), |a, &b| a + b);
                            }
                        }
                        for d in dst.iter_mut() {
                            *d = *d * scale;
                        }
                    }
                }
            });
        }
        Tensor::from_parts(out, shape_of(&[n, c, oh, ow]))
    }

    /// The adjoint of [`Tensor::block_sum2d`]: each value of `[N, C, oh, ow]`
    /// times `scale`, copied over its `kh x kw` block of an image of `size =
    /// (H, W)`; what lies past the last whole block is 0. Panics, naming the
    /// shapes, when the blocks do not match `size`.
    ///
    /// ```
    /// use curvature_autograd::Tensor;
    /// let g = Tensor::from_vec(vec![1.0_f64, 2.0], &[1, 1, 1, 2]);
    /// let spread = g.block_spread2d((3, 4), (2, 2), 0.5);
    /// assert_eq!(spread.to_vec(), vec![0.5, 0.5, 1.0, 1.0, 0.5, 0.5, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
    /// ```
    pub fn block_spread2d(
        &self,
        size: (usize, usize),
        kernel: (usize, usize),
        scale: T,
    ) -> Tensor<T> {
        let (n, c, oh, ow) = nchw("block_spread2d", self.shape());
        let (h, w) = size;
        let (kh, kw) = kernel;
        let image = [n, c, h, w];
        assert!(
            blocks("block_spread2d", size, kernel, &image) == (oh, ow),
            "block_spread2d: values of shape {:?} are not the {kh}x{kw} blocks of a {h}x{w} image",
            self.shape()
        );
        let g = self.contiguous();
        let src = g.as_slice();
        let mut out = vec![T::zero(); n * c * h * w];
        if h * w > 0 {
            threads::for_chunks(&mut out, h * w, |start, chunk| {
                let values = src[start / (h * w) * oh * ow..].chunks_exact(oh * ow);
                for (plane, values) in chunk.chunks_exact_mut(h * w).zip(values) {
                    for (oi, values) in values.chunks_exact(ow).enumerate() {
                        for ki in 0..kh {
                            let row = &mut plane[(oi * kh + ki) * w..][..ow * kw];
                            for (block, &v) in row.chunks_exact_mut(kw).zip(values) {
                                block.fill(v * scale);
                            }
                        }
                    }
                }
            });
        }
        Tensor::from_parts(out, shape_of(&[n, c, h, w]))
    }
}

/// The whole `kernel` blocks of an `(h, w)` plane, `(h / kh, w / kw)`,
/// panicking with the op's name when there are none or the kernel is 0.
fn blocks(
    op: &str,
    (h, w): (usize, usize),
    (kh, kw): (usize, usize),
    shape: &[usize],
) -> (usize, usize) {
    assert!(
        kh > 0 && kw > 0 && kh <= h && kw <= w,
        "{op}: a {kh}x{kw} block does not fit in the input of shape {shape:?}"
    );
    (h / kh, w / kw)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// unfold by its definition, one tap at a time.
    fn unfold_by_taps(x: &Tensor<f64>, g: Window2d, pad_value: f64) -> Vec<f64> {
        let (n, c, h, w) = nchw("test", x.shape());
        let (oh, ow) = g.output_size((h, w)).unwrap();
        let mut out = Vec::new();
        for plane in 0..n * c {
            for ki in 0..g.kernel.0 {
                for kj in 0..g.kernel.1 {
                    for oi in 0..oh {
                        for oj in 0..ow {
                            let r =
                                Window2d::source(oi, ki, g.stride.0, g.dilation.0, g.padding.0, h);
                            let q =
                                Window2d::source(oj, kj, g.stride.1, g.dilation.1, g.padding.1, w);
                            out.push(match (r, q) {
                                (Some(r), Some(q)) => x.as_slice()[(plane * h + r) * w + q],
                                _ => pad_value,
                            });
                        }
                    }
                }
            }
        }
        out
    }

    #[test]
    fn unfold_reads_every_tap_of_every_window() {
        let mut rng = crate::seeded_rng(5);
        for kernel in [(1, 1), (2, 3), (3, 3), (5, 2)] {
            for stride in [(1, 1), (2, 1), (1, 3), (2, 2)] {
                for padding in [(0, 0), (1, 2), (2, 1), (4, 4)] {
                    for dilation in [(1, 1), (2, 1), (1, 2)] {
                        let g = Window2d {
                            kernel,
                            stride,
                            padding,
                            dilation,
                        };
                        let x = Tensor::<f64>::randn(&[2, 2, 5, 7], 0.0, 1.0, &mut rng);
                        if g.output_size((5, 7)).is_err() {
                            continue;
                        }
                        let cols = x.unfold2d(g, -9.0);
                        assert_eq!(cols.to_vec(), unfold_by_taps(&x, g, -9.0), "{g:?}");
                        // and fold adds every column entry back to its tap:
                        // <unfold(x), y> = <x, fold(y)> with zero padding
                        let y = Tensor::randn(cols.shape(), 0.0, 1.0, &mut rng);
                        let zero_pad = Tensor::from_vec(unfold_by_taps(&x, g, 0.0), cols.shape());
                        let lhs: f64 = zero_pad.mul(&y).sum().item();
                        let rhs: f64 = x.mul(&y.fold2d((5, 7), g)).sum().item();
                        assert!((lhs - rhs).abs() < 1e-10, "{g:?}: {lhs} vs {rhs}");
                    }
                }
            }
        }
    }

    #[test]
    fn im2col_is_unfold_with_images_side_by_side_and_col2im_its_adjoint() {
        let mut rng = crate::seeded_rng(7);
        for g in [
            Window2d::new((3, 3)).padding((1, 1)),
            Window2d::new((2, 3)).stride((2, 1)).padding((1, 2)),
            Window2d::new((3, 2)).dilation((2, 1)).stride((1, 3)),
            Window2d::new((1, 1)),
        ] {
            let x = Tensor::<f64>::randn(&[3, 2, 6, 7], 0.0, 1.0, &mut rng);
            let unfolded = x.unfold2d(g, 0.0); // [N, C kk, L]
            let cols = x.im2col(g); // [C kk, N L]
            let (n, ckk, l) = (3, unfolded.shape()[1], unfolded.shape()[2]);
            assert_eq!(cols.shape(), &[ckk, n * l], "{g:?}");
            for i in 0..n {
                for r in 0..ckk {
                    for j in 0..l {
                        assert_eq!(cols.get(&[r, i * l + j]), unfolded.get(&[i, r, j]));
                    }
                }
            }
            // <im2col(x), y> = <x, col2im(y)>
            let y = Tensor::randn(cols.shape(), 0.0, 1.0, &mut rng);
            let lhs: f64 = cols.mul(&y).sum().item();
            let back = y.col2im((6, 7), g);
            assert_eq!(back.shape(), x.shape());
            // the same columns stored as the transpose of [N L, C kk]
            let stored_transposed = y.transpose(0, 1).contiguous().transpose(0, 1);
            assert_eq!(stored_transposed.strides().as_slice(), &[1, ckk]);
            let again = stored_transposed.col2im((6, 7), g).to_vec();
            for (a, b) in again.iter().zip(back.to_vec()) {
                assert!((a - b).abs() < 1e-12, "{g:?}: {a} vs {b}");
            }
            let rhs: f64 = x.mul(&back).sum().item();
            assert!((lhs - rhs).abs() < 1e-10, "{g:?}: {lhs} vs {rhs}");
        }
    }

    #[test]
    fn block_sum_is_average_pooling_and_spread_its_adjoint() {
        let mut rng = crate::seeded_rng(9);
        for (size, kernel) in [
            ((6, 8), (2, 2)),
            ((7, 5), (3, 2)),
            ((4, 4), (1, 4)),
            ((5, 5), (5, 5)),
        ] {
            let x = Tensor::<f64>::randn(&[2, 3, size.0, size.1], 0.0, 1.0, &mut rng);
            let scale = 1.0 / (kernel.0 * kernel.1) as f64;
            let window = Window2d::new(kernel).stride(kernel);
            // the mean over each window's column, by unfold
            let (n, c) = (2, 3);
            let cols = x.reshape(&[n * c, 1, size.0, size.1]).unfold2d(window, 0.0);
            let mean = cols.sum_dim(1, false).map(|v| v * scale);
            let pooled = x.block_sum2d(kernel, scale);
            let (oh, ow) = window.output_size(size).unwrap();
            assert_eq!(pooled.shape(), &[n, c, oh, ow]);
            for (a, b) in pooled.to_vec().iter().zip(mean.to_vec()) {
                assert!((a - b).abs() < 1e-12, "{size:?} {kernel:?}: {a} vs {b}");
            }
            // <block_sum(x), y> = <x, block_spread(y)>
            let y = Tensor::randn(pooled.shape(), 0.0, 1.0, &mut rng);
            let lhs: f64 = pooled.mul(&y).sum().item();
            let spread = y.block_spread2d(size, kernel, scale);
            assert_eq!(spread.shape(), x.shape());
            let rhs: f64 = x.mul(&spread).sum().item();
            assert!(
                (lhs - rhs).abs() < 1e-10,
                "{size:?} {kernel:?}: {lhs} vs {rhs}"
            );
        }
    }

    #[test]
    #[should_panic(
        expected = "block_spread2d: a 2x2 block does not fit in the input of shape [1, 1, 1, 6]"
    )]
    fn a_spread_over_no_whole_block_names_the_shapes() {
        let _ = Tensor::<f64>::zeros(&[1, 1, 0, 3]).block_spread2d((1, 6), (2, 2), 1.0);
    }

    #[test]
    #[should_panic(
        expected = "block_spread2d: values of shape [1, 1, 2, 2] are not the 2x2 blocks of a 6x4 image"
    )]
    fn a_spread_of_the_wrong_block_count_names_the_shapes() {
        let _ = Tensor::<f64>::zeros(&[1, 1, 2, 2]).block_spread2d((6, 4), (2, 2), 1.0);
    }

    #[test]
    #[should_panic(
        expected = "block_sum2d: a 3x3 block does not fit in the input of shape [1, 1, 2, 4]"
    )]
    fn a_block_larger_than_the_image_names_the_shapes() {
        let _ = Tensor::<f64>::zeros(&[1, 1, 2, 4]).block_sum2d((3, 3), 1.0);
    }

    #[test]
    fn fold_is_the_adjoint_of_unfold() {
        // <unfold(x), y> = <x, fold(y)> for every geometry
        let geometries = [
            Window2d::new((2, 2)),
            Window2d::new((3, 2)).stride((2, 1)).padding((1, 0)),
            Window2d::new((2, 3))
                .dilation((2, 1))
                .padding((1, 2))
                .stride((1, 2)),
        ];
        let mut rng = crate::seeded_rng(3);
        for g in geometries {
            let x = Tensor::<f64>::randn(&[2, 3, 5, 6], 0.0, 1.0, &mut rng);
            let cols = x.unfold2d(g, 0.0);
            let y = Tensor::randn(cols.shape(), 0.0, 1.0, &mut rng);
            let lhs: f64 = cols.mul(&y).sum().item();
            let rhs: f64 = x.mul(&y.fold2d((5, 6), g)).sum().item();
            assert!((lhs - rhs).abs() < 1e-10, "{g:?}: {lhs} vs {rhs}");
        }
    }

    #[test]
    fn padding_reads_the_pad_value_and_sizes_follow_pytorch() {
        let x = Tensor::from_vec(vec![1.0_f64; 4], &[1, 1, 2, 2]);
        let g = Window2d::new((2, 2)).padding((1, 1));
        assert_eq!(g.output_size((2, 2)), Ok((3, 3)));
        let cols = x.unfold2d(g, f64::NEG_INFINITY);
        assert_eq!(cols.shape(), &[1, 4, 9]);
        // the first window covers one real element, at its bottom right
        assert_eq!(cols.get(&[0, 0, 0]), f64::NEG_INFINITY);
        assert_eq!(cols.get(&[0, 3, 0]), 1.0);
        // torch: floor((H + 2p - d (k - 1) - 1) / s) + 1
        let g = Window2d::new((3, 3))
            .stride((2, 2))
            .padding((1, 1))
            .dilation((2, 2));
        assert_eq!(g.output_size((8, 7)), Ok((3, 3)));
    }

    #[test]
    #[should_panic(expected = "unfold2d: input of shape [1, 1, 2, 2]: the kernel (3, 3)")]
    fn a_kernel_larger_than_the_input_is_named() {
        let _ = Tensor::<f32>::zeros(&[1, 1, 2, 2]).unfold2d(Window2d::new((3, 3)), 0.0);
    }

    #[test]
    fn a_zero_stride_is_refused() {
        let err = Window2d::new((1, 1)).stride((0, 1)).output_size((4, 4));
        assert!(err.unwrap_err().contains("must be positive"));
    }
}
