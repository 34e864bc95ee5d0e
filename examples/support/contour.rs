//! The geometry behind the contour plots: contour lines by marching
//! squares, and polylines clipped to the plotted box.

use std::ops::Range;

/// The contour of `f` at `level` as line segments, by marching squares
/// on an `n` by `n` grid of cells: in each cell, the points where `f`
/// crosses `level` along the edges, interpolated linearly, joined in pairs.
pub fn contour_segments(
    f: impl Fn(f64, f64) -> f64,
    (xs, ys): (&Range<f64>, &Range<f64>),
    n: usize,
    level: f64,
) -> Vec<[(f64, f64); 2]> {
    let x = |i: usize| xs.start + (xs.end - xs.start) * i as f64 / n as f64;
    let y = |j: usize| ys.start + (ys.end - ys.start) * j as f64 / n as f64;
    let values: Vec<f64> = (0..=n)
        .flat_map(|j| (0..=n).map(move |i| (i, j)))
        .map(|(i, j)| f(x(i), y(j)))
        .collect();
    let at = |i: usize, j: usize| values[j * (n + 1) + i];
    let mut segments = Vec::new();
    for j in 0..n {
        for i in 0..n {
            // Corners counter-clockwise from the bottom left, then the edges between them.
            let corners = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)];
            let mut crossings = Vec::with_capacity(4);
            for e in 0..4 {
                let (a, b) = (corners[e], corners[(e + 1) % 4]);
                let (fa, fb) = (at(a.0, a.1), at(b.0, b.1));
                if (fa < level) != (fb < level) && fa.is_finite() && fb.is_finite() {
                    let t = (level - fa) / (fb - fa);
                    crossings.push((
                        x(a.0) + t * (x(b.0) - x(a.0)),
                        y(a.1) + t * (y(b.1) - y(a.1)),
                    ));
                }
            }
            match crossings.as_slice() {
                [p, q] => segments.push([*p, *q]),
                // A saddle cell: pair the crossings so that the segments separate
                // the corners on the side of the centre's value.
                [p, q, r, s] => {
                    let centre = (at(i, j) + at(i + 1, j) + at(i + 1, j + 1) + at(i, j + 1)) / 4.0;
                    if (centre < level) == (at(i, j) < level) {
                        segments.extend([[*p, *q], [*r, *s]]);
                    } else {
                        segments.extend([[*s, *p], [*q, *r]]);
                    }
                }
                _ => {}
            }
        }
    }
    segments
}

/// The parts of the polyline through `points` that lie inside `xs` by
/// `ys`: each segment clipped to the box (Liang-Barsky), consecutive
/// visible segments joined. A point that is not finite ends the line.
pub fn clip_polyline(
    points: &[(f64, f64)],
    (xs, ys): (&Range<f64>, &Range<f64>),
) -> Vec<Vec<(f64, f64)>> {
    let finite = points
        .iter()
        .take_while(|(x, y)| x.is_finite() && y.is_finite());
    let mut pieces: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut previous: Option<(f64, f64)> = None;
    for &b in finite {
        let Some(a) = previous.replace(b) else {
            continue;
        };
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let (mut t0, mut t1) = (0.0_f64, 1.0_f64);
        let bounds = [
            (-dx, a.0 - xs.start),
            (dx, xs.end - a.0),
            (-dy, a.1 - ys.start),
            (dy, ys.end - a.1),
        ];
        let visible = bounds.iter().all(|&(p, q)| {
            if p == 0.0 {
                return q >= 0.0;
            }
            let r = q / p;
            if p < 0.0 {
                t0 = t0.max(r);
            } else {
                t1 = t1.min(r);
            }
            t0 <= t1
        });
        if !visible {
            continue;
        }
        let start = (a.0 + t0 * dx, a.1 + t0 * dy);
        let end = (a.0 + t1 * dx, a.1 + t1 * dy);
        match pieces.last_mut() {
            Some(piece) if t0 == 0.0 && piece.last() == Some(&a) => piece.push(end),
            _ => pieces.push(vec![start, end]),
        }
    }
    if pieces.is_empty() {
        // A path that never moves (or only outside): its start, if visible.
        if let Some(&p) = points.first() {
            if xs.contains(&p.0) && ys.contains(&p.1) {
                pieces.push(vec![p]);
            }
        }
    }
    pieces
}
