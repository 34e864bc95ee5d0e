//! The figure of the `hessian` example: the spectral densities (log
//! scale), the top eigenvalues over the epochs, and the loss along the top
//! eigenvector and on the plane of the top two.

use std::path::Path;

use plotters::prelude::*;

use super::{Report, Snapshot};
use crate::support::plot::{self, color, compact, log_ticks, Area, Series};
use crate::support::BoxError;

/// Draws the chart's legend in the upper right corner.
macro_rules! legend {
    ($chart:expr) => {{
        $chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        Ok(())
    }};
}

pub fn draw(path: &Path, report: &Report) -> Result<(), BoxError> {
    plot::svg(path, (1200, 900), |root| {
        let areas = root.split_evenly((2, 2));
        density(&areas[0], &[&report.initial, &report.trained])?;
        eigenvalues(&areas[1], &report.eigenvalues_by_epoch)?;
        line(&areas[2], &[&report.initial, &report.trained])?;
        plane(&areas[3], &report.trained)
    })
}

/// The SLQ densities smoothed on a grid, on a log axis (PyHessian's plot).
fn density(area: &Area<'_>, snapshots: &[&Snapshot]) -> Result<(), BoxError> {
    // one grid and one width for both, 1.5% of the widest range
    let (lo, hi) = snapshots
        .iter()
        .map(|s| s.density.range())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (a, b)| {
            (lo.min(a), hi.max(b))
        });
    let sigma = 0.015 * (hi - lo).max(1e-12);
    let (start, end) = (lo - 4.0 * sigma, hi + 4.0 * sigma);
    let points: Vec<f64> = (0..600)
        .map(|i| start + (end - start) * i as f64 / 599.0)
        .collect();
    let densities: Vec<Vec<f64>> = snapshots
        .iter()
        .map(|s| s.density.density_at(&points, sigma))
        .collect();
    let peak = densities.iter().flatten().copied().fold(0.0, f64::max);
    let floor = peak * 1e-5;
    let ticks = log_ticks(floor, peak * 1.5);
    let xs = start..end;
    let mut chart = ChartBuilder::on(area)
        .caption(
            "spectral density (SLQ, Gaussian-smoothed)",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(
            xs,
            (ticks[0]..ticks[ticks.len() - 1])
                .log_scale()
                .with_key_points(ticks),
        )?;
    chart
        .configure_mesh()
        .x_desc("eigenvalue")
        .y_desc("density")
        .light_line_style(TRANSPARENT)
        .y_label_formatter(&|y| compact(*y))
        .draw()?;
    for (i, (s, density)) in snapshots.iter().zip(&densities).enumerate() {
        let style = color(i).stroke_width(2);
        let points = points.iter().zip(density).map(|(&x, &d)| (x, d.max(floor)));
        chart
            .draw_series(LineSeries::new(points, style))?
            .label(s.label.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
    }
    legend!(chart)
}

/// The top eigenvalues after each epoch.
fn eigenvalues(area: &Area<'_>, by_epoch: &[Vec<f64>]) -> Result<(), BoxError> {
    let k = by_epoch.iter().map(Vec::len).max().unwrap_or(0);
    let series: Vec<Series> = (0..k)
        .map(|i| Series {
            name: format!("λ{}", i + 1),
            color: color(i),
            points: by_epoch
                .iter()
                .enumerate()
                .filter_map(|(e, v)| v.get(i).map(|&l| (e as f64, l)))
                .collect(),
        })
        .collect();
    let ys = plot::padded_range(
        series.iter().flat_map(|s| s.points.iter().map(|p| p.1)),
        0.05,
    );
    let xs = 0.0..(by_epoch.len().saturating_sub(1).max(1)) as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(
            "top Hessian eigenvalues during training",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(xs, ys)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("eigenvalue")
        .light_line_style(TRANSPARENT)
        .draw()?;
    for s in &series {
        let style = s.color.stroke_width(2);
        chart
            .draw_series(LineSeries::new(s.points.iter().copied(), style))?
            .label(s.name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
        chart.draw_series(
            s.points
                .iter()
                .map(|&p| Circle::new(p, 3, s.color.filled())),
        )?;
    }
    legend!(chart)
}

/// The loss along the top eigenvector.
fn line(area: &Area<'_>, snapshots: &[&Snapshot]) -> Result<(), BoxError> {
    let xs = plot::padded_range(
        snapshots.iter().flat_map(|s| s.line.alphas.iter().copied()),
        0.0,
    );
    let ys = plot::padded_range(
        snapshots.iter().flat_map(|s| s.line.losses.iter().copied()),
        0.05,
    );
    let mut chart = ChartBuilder::on(area)
        .caption("loss along the top eigenvector", ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(xs, ys)?;
    chart
        .configure_mesh()
        .x_desc("step along v1")
        .y_desc("training loss")
        .light_line_style(TRANSPARENT)
        .draw()?;
    for (i, s) in snapshots.iter().enumerate() {
        let style = color(i).stroke_width(2);
        let points = s
            .line
            .alphas
            .iter()
            .copied()
            .zip(s.line.losses.iter().copied());
        chart
            .draw_series(LineSeries::new(points, style))?
            .label(s.label.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
    }
    legend!(chart)
}

/// Contours of the loss on the plane of the top two eigenvectors, by
/// bilinear interpolation of the computed grid.
fn plane(area: &Area<'_>, s: &Snapshot) -> Result<(), BoxError> {
    let (a, b, z) = (&s.plane.alphas, &s.plane.betas, &s.plane.losses);
    let cell = |values: &[f64], x: f64| {
        let t =
            (x - values[0]) / (values[values.len() - 1] - values[0]) * (values.len() - 1) as f64;
        let i = (t.floor().max(0.0) as usize).min(values.len() - 2);
        (i, (t - i as f64).clamp(0.0, 1.0))
    };
    let f = |x: f64, y: f64| {
        let ((i, u), (j, v)) = (cell(a, x), cell(b, y));
        (1.0 - u) * (1.0 - v) * z[i][j]
            + u * (1.0 - v) * z[i + 1][j]
            + (1.0 - u) * v * z[i][j + 1]
            + u * v * z[i + 1][j + 1]
    };
    let mut values: Vec<f64> = z.iter().flatten().copied().collect();
    values.sort_by(f64::total_cmp);
    let levels: Vec<f64> = (1..12)
        .map(|q| values[q * (values.len() - 1) / 12])
        .collect();
    let title = format!("{}: loss on the plane of v1 and v2", s.label);
    plot::draw_contours_with_paths(
        area,
        &title,
        f,
        (a[0]..a[a.len() - 1], b[0]..b[b.len() - 1]),
        &levels,
        &[Series {
            name: "the 1-D slice along v1".into(),
            color: color(1),
            points: vec![(a[0], 0.0), (a[a.len() - 1], 0.0)],
        }],
        (0.0, 0.0),
    )
}
