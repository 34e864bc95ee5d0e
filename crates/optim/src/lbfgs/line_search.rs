//! The strong-Wolfe line search of `torch.optim.LBFGS` (itself from
//! minFunc): a bracketing phase that grows the step by cubic
//! interpolation, then a zoom phase, on `phi(t) = f(x + t d)`. Ported
//! branch for branch so that iterates agree with PyTorch's.

use curvature_autograd::Element;

use crate::OptimError;

/// What the search returns: the accepted step, the loss and the flat
/// gradient there, and how many evaluations it made.
pub(crate) struct Accepted<T> {
    pub(crate) t: T,
    pub(crate) loss: T,
    pub(crate) grad: Vec<T>,
    pub(crate) evaluations: usize,
}

pub(crate) fn dot<T: Element>(a: &[T], b: &[T]) -> T {
    a.iter().zip(b).fold(T::zero(), |s, (&a, &b)| s + a * b)
}

pub(crate) fn max_abs<T: Element>(a: &[T]) -> T {
    a.iter()
        .fold(T::zero(), |m, &x| if x.abs() > m { x.abs() } else { m })
}

fn min<T: Element>(a: T, b: T) -> T {
    if b < a {
        b
    } else {
        a
    }
}

fn max<T: Element>(a: T, b: T) -> T {
    if b > a {
        b
    } else {
        a
    }
}

/// The minimiser of the cubic through `(x1, f1)` and `(x2, f2)` with
/// slopes `g1` and `g2`, clamped to `bounds` (the interval between the two
/// points by default); the bounds' midpoint when the cubic has no minimum.
fn cubic_interpolate<T: Element>(
    (x1, f1, g1): (T, T, T),
    (x2, f2, g2): (T, T, T),
    bounds: Option<(T, T)>,
) -> T {
    let (lo, hi) = bounds.unwrap_or(if x1 <= x2 { (x1, x2) } else { (x2, x1) });
    let three = T::from_f64(3.0);
    let two = T::from_f64(2.0);
    let d1 = g1 + g2 - three * (f1 - f2) / (x1 - x2);
    let d2_square = d1 * d1 - g1 * g2;
    if d2_square >= T::zero() {
        let d2 = d2_square.sqrt();
        let min_pos = if x1 <= x2 {
            x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + two * d2))
        } else {
            x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + two * d2))
        };
        min(max(min_pos, lo), hi)
    } else {
        (lo + hi) / two
    }
}

/// The strong-Wolfe search from step `t` along `d`, given the loss `f`,
/// the flat gradient `g` and the slope `gtd = g . d` at `t = 0`;
/// `phi(t)` evaluates the loss and the flat gradient at `x + t d` (its
/// argument numbers the evaluation, for errors). At most `max_ls`
/// evaluations after the first; `c1 = 1e-4`, `c2 = 0.9` as PyTorch.
pub(crate) fn strong_wolfe<T: Element>(
    mut phi: impl FnMut(T, usize) -> Result<(T, Vec<T>), OptimError>,
    d: &[T],
    mut t: T,
    (f, g, gtd): (T, &[T], T),
    tolerance_change: T,
    max_ls: usize,
) -> Result<Accepted<T>, OptimError> {
    let c1 = T::from_f64(1e-4);
    let c2 = T::from_f64(0.9);
    let zero = T::zero();
    let d_norm = max_abs(d);
    let (mut f_new, mut g_new) = phi(t, 1)?;
    let mut evaluations = 1;
    let mut gtd_new = dot(&g_new, d);

    let (mut t_prev, mut f_prev, mut g_prev, mut gtd_prev) = (zero, f, g.to_vec(), gtd);
    let mut done = false;
    let mut ls_iter = 0;
    // (t, f, g, gtd) at the bracket's ends; one end when `done` at once.
    let mut bracket: Vec<(T, T, Vec<T>, T)> = Vec::new();
    while ls_iter < max_ls {
        if f_new > f + c1 * t * gtd || (ls_iter > 1 && f_new >= f_prev) {
            bracket = vec![
                (t_prev, f_prev, g_prev, gtd_prev),
                (t, f_new, g_new.clone(), gtd_new),
            ];
            break;
        }
        if gtd_new.abs() <= -c2 * gtd {
            bracket = vec![(t, f_new, g_new.clone(), gtd_new)];
            done = true;
            break;
        }
        if gtd_new >= zero {
            bracket = vec![
                (t_prev, f_prev, g_prev, gtd_prev),
                (t, f_new, g_new.clone(), gtd_new),
            ];
            break;
        }
        // extrapolate: a cubic step within [t + 0.01 (t - t_prev), 10 t]
        let min_step = t + T::from_f64(0.01) * (t - t_prev);
        let max_step = t * T::from_f64(10.0);
        let tmp = t;
        t = cubic_interpolate(
            (t_prev, f_prev, gtd_prev),
            (t, f_new, gtd_new),
            Some((min_step, max_step)),
        );
        t_prev = tmp;
        f_prev = f_new;
        g_prev = g_new.clone();
        gtd_prev = gtd_new;
        (f_new, g_new) = phi(t, evaluations + 1)?;
        evaluations += 1;
        gtd_new = dot(&g_new, d);
        ls_iter += 1;
    }
    if ls_iter == max_ls {
        // PyTorch keeps no slopes here; the zoom below cannot run anyway
        bracket = vec![(zero, f, g.to_vec(), zero), (t, f_new, g_new, zero)];
    }

    let mut insufficient_progress = false;
    let order = |b: &[(T, T, Vec<T>, T)]| {
        if b[0].1 <= b[b.len() - 1].1 {
            (0, 1)
        } else {
            (1, 0)
        }
    };
    let (mut low, mut high) = order(&bracket);
    while !done && ls_iter < max_ls {
        let (b0, b1) = (bracket[0].0, bracket[1].0);
        if (b1 - b0).abs() * d_norm < tolerance_change {
            break;
        }
        t = cubic_interpolate(
            (b0, bracket[0].1, bracket[0].3),
            (b1, bracket[1].1, bracket[1].3),
            None,
        );
        let (bmax, bmin) = (max(b0, b1), min(b0, b1));
        let eps = T::from_f64(0.1) * (bmax - bmin);
        if min(bmax - t, t - bmin) < eps {
            // too close to an end: move away from it, unless the last
            // step already made too little progress
            if insufficient_progress || t >= bmax || t <= bmin {
                t = if (t - bmax).abs() < (t - bmin).abs() {
                    bmax - eps
                } else {
                    bmin + eps
                };
                insufficient_progress = false;
            } else {
                insufficient_progress = true;
            }
        } else {
            insufficient_progress = false;
        }
        let (f_t, g_t) = phi(t, evaluations + 1)?;
        evaluations += 1;
        let gtd_t = dot(&g_t, d);
        ls_iter += 1;
        if f_t > f + c1 * t * gtd || f_t >= bracket[low].1 {
            bracket[high] = (t, f_t, g_t, gtd_t);
            (low, high) = order(&bracket);
        } else {
            if gtd_t.abs() <= -c2 * gtd {
                done = true;
            } else if gtd_t * (bracket[high].0 - bracket[low].0) >= zero {
                bracket[high] = bracket[low].clone();
            }
            bracket[low] = (t, f_t, g_t, gtd_t);
        }
    }
    let (t, loss, grad, _) = bracket.swap_remove(low);
    Ok(Accepted {
        t,
        loss,
        grad,
        evaluations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cubic_interpolation_finds_the_minimum_of_a_cubic() {
        // phi(t) = (t - 2)^2 is its own cubic: slopes -4 at 0 and 2 at 3
        let t = cubic_interpolate((0.0_f64, 4.0, -4.0), (3.0, 1.0, 2.0), None);
        assert!((t - 2.0).abs() < 1e-12, "{t}");
        // clamped to the bounds given
        let t = cubic_interpolate((0.0_f64, 4.0, -4.0), (3.0, 1.0, 2.0), Some((2.5, 3.0)));
        assert_eq!(t, 2.5);
    }

    #[test]
    fn accepts_a_step_meeting_both_wolfe_conditions_at_once() {
        // f(x) = x^2 from x = 1 along d = -1: t = 1 reaches the minimum
        let phi = |t: f64, _| Ok(((1.0 - t).powi(2), vec![2.0 * (1.0 - t)]));
        let a = strong_wolfe(phi, &[-1.0], 1.0, (1.0, &[2.0], -2.0), 1e-9, 25).unwrap();
        assert_eq!((a.t, a.loss, a.evaluations), (1.0, 0.0, 1));
    }

    #[test]
    fn zooms_into_a_bracket_when_the_first_step_overshoots() {
        // f(x) = x^2 from x = 1 along d = -1 with t = 10: overshoots
        let phi = |t: f64, _| Ok(((1.0 - t).powi(2), vec![2.0 * (1.0 - t)]));
        let a = strong_wolfe(phi, &[-1.0], 10.0, (1.0, &[2.0], -2.0), 1e-9, 25).unwrap();
        let slope = -2.0 * (1.0 - a.t); // phi'(t) = g(x + t d) d, d = -1
        assert!(slope.abs() <= 0.9 * 2.0, "curvature condition: t = {}", a.t);
        assert!(a.loss <= 1.0 + 1e-4 * a.t * -2.0, "sufficient decrease");
        assert!(a.evaluations > 1);
    }
}
