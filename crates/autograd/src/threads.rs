//! The threads the tensor kernels run on: large matrix products and large
//! element-wise kernels are shared among [`num_threads`] threads of a pool
//! the crate owns (so it neither competes with, nor is sized by, a program's
//! own use of rayon's global pool). Small ones run on the calling thread:
//! handing work to the pool costs microseconds.
//!
//! Results do not depend on the number of threads: a product splits its
//! output among the threads, never the sum over its inner dimension, and an
//! element-wise kernel computes each element the same way wherever it runs.

use std::sync::{Arc, PoisonError, RwLock};

use crate::Error;

/// The environment variable read once, at the first parallel kernel, for
/// the default number of threads (as `OMP_NUM_THREADS` is for PyTorch).
pub const THREADS_ENV: &str = "CURVATURE_NUM_THREADS";

/// The pool and its size; `None` for one thread (everything runs on the
/// calling thread).
pub(crate) struct Pool {
    threads: usize,
    pool: Option<rayon::ThreadPool>,
}

impl Pool {
    fn new(threads: usize) -> Result<Self, Error> {
        let pool = if threads > 1 {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .thread_name(|i| format!("curvature-{i}"))
                .build()
                .map_err(|e| Error::Threads(format!("cannot start {threads} threads: {e}")))?;
            Some(pool)
        } else {
            None
        };
        Ok(Self { threads, pool })
    }

    /// The number of threads.
    pub(crate) fn threads(&self) -> usize {
        self.threads
    }

    /// Runs `f` inside the pool (where rayon's parallel iterators and
    /// `gemm`'s rayon parallelism use its threads), or on this thread for a
    /// pool of one.
    pub(crate) fn run<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match &self.pool {
            Some(pool) => pool.install(f),
            None => f(),
        }
    }
}

static POOL: RwLock<Option<Arc<Pool>>> = RwLock::new(None);

/// The default: [`THREADS_ENV`] when it is set to a positive integer, else
/// the parallelism available to the process (its CPU affinity and quota).
fn default_threads() -> usize {
    std::env::var(THREADS_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The current pool, made on first use with the default size.
pub(crate) fn pool() -> Arc<Pool> {
    if let Some(pool) = POOL.read().unwrap_or_else(PoisonError::into_inner).as_ref() {
        return pool.clone();
    }
    let mut slot = POOL.write().unwrap_or_else(PoisonError::into_inner);
    slot.get_or_insert_with(|| {
        let threads = default_threads();
        // a pool that cannot start falls back to the calling thread alone
        Arc::new(Pool::new(threads).unwrap_or_else(|_| Pool {
            threads: 1,
            pool: None,
        }))
    })
    .clone()
}

/// The number of threads the tensor kernels use: by default the CPUs
/// available to the process, or [`THREADS_ENV`]; see [`set_num_threads`].
///
/// ```
/// assert!(curvature_autograd::num_threads() >= 1);
/// ```
pub fn num_threads() -> usize {
    pool().threads()
}

/// Sets the number of threads the tensor kernels use from now on, as
/// PyTorch's `torch.set_num_threads`: 1 runs everything on the calling
/// thread. Work already running finishes on the pool it started on.
/// Errors when `threads` is 0 or the threads cannot be started.
///
/// ```
/// use curvature_autograd::{num_threads, set_num_threads};
/// set_num_threads(2).unwrap();
/// assert_eq!(num_threads(), 2);
/// assert!(set_num_threads(0).is_err());
/// # set_num_threads(1).unwrap();
/// ```
pub fn set_num_threads(threads: usize) -> Result<(), Error> {
    if threads == 0 {
        return Err(Error::Threads(
            "the number of threads must be at least 1, got 0".into(),
        ));
    }
    let pool = Arc::new(Pool::new(threads)?);
    *POOL.write().unwrap_or_else(PoisonError::into_inner) = Some(pool);
    Ok(())
}

/// Element-wise kernels of at least this many elements (1 MiB of `f32`)
/// are split among the threads; below it, waking the pool's threads costs
/// more than it saves (measured on mid and mnist HVPs at 2 threads: 32,768
/// lost, 262,144 won).
pub(crate) const PARALLEL_ELEMENTS: usize = 1 << 18;

/// Runs `kernel(start, chunk)` over `out` split into one contiguous chunk
/// per thread (`start` is the chunk's first index; every chunk but the last
/// is a multiple of `granule` long), in parallel when `out` is large enough
/// and there is more than one thread.
pub(crate) fn for_chunks<T: Send>(
    out: &mut [T],
    granule: usize,
    kernel: impl Fn(usize, &mut [T]) + Sync,
) {
    let work = out.len();
    for_chunks_of_work(out, granule, work, kernel);
}

/// [`for_chunks`] for a kernel whose work is `work` element operations
/// rather than one per element of `out` (a fold reads many columns into
/// each output element): the work decides whether to go parallel.
pub(crate) fn for_chunks_of_work<T: Send>(
    out: &mut [T],
    granule: usize,
    work: usize,
    kernel: impl Fn(usize, &mut [T]) + Sync,
) {
    if work < PARALLEL_ELEMENTS || out.len() <= granule {
        return kernel(0, out);
    }
    let pool = pool();
    if pool.threads() == 1 {
        return kernel(0, out);
    }
    let chunk = out
        .len()
        .div_ceil(pool.threads())
        .next_multiple_of(granule.max(1));
    pool.run(|| {
        use rayon::prelude::*;
        out.par_chunks_mut(chunk)
            .enumerate()
            .for_each(|(i, c)| kernel(i * chunk, c));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_output_once_in_order() {
        for n in [0, 5, PARALLEL_ELEMENTS - 1, PARALLEL_ELEMENTS + 7, 100_003] {
            let mut out = vec![0_usize; n];
            for_chunks(&mut out, 7, |start, chunk| {
                assert!(start % 7 == 0);
                for (i, x) in chunk.iter_mut().enumerate() {
                    *x += start + i + 1;
                }
            });
            assert!(out.iter().enumerate().all(|(i, &x)| x == i + 1), "n = {n}");
        }
    }
}
