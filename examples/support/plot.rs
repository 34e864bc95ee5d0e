//! SVG figures with plotters: loss curves, a classifier's decision regions
//! with its points, a regression fit, and optimizer paths over the
//! contour lines of a 2-D function.
//!
//! Each `draw_*` function fills one drawing area; [`svg`] makes the figure
//! and writes the file.

use std::ops::Range;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::contour::{clip_polyline, contour_segments};
use super::{write_file, BoxError};

/// The drawing area of an SVG figure held in memory.
pub type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// Draws a figure of `size` pixels with `draw`, then writes it to `path`
/// (creating the directory) atomically: a failed write (a full disk)
/// leaves the previous figure, never half of one. Drawing in memory first
/// means a failed write names the file instead of being lost when the
/// backend is dropped.
pub fn svg(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(&Area<'_>) -> Result<(), BoxError>,
) -> Result<(), BoxError> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
    }
    write_file(path, &text)
}

/// Distinct colors for curves and classes (Tableau 10).
pub const COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// The `i`-th color of [`COLORS`], cycling.
pub fn color(i: usize) -> RGBColor {
    COLORS[i % COLORS.len()]
}

/// A named curve or path.
#[derive(Clone, Debug)]
pub struct Series {
    pub name: String,
    pub color: RGBColor,
    pub points: Vec<(f64, f64)>,
}

/// The smallest and largest finite values, padded by `pad` of the span
/// (or by 1 when they are equal).
pub fn padded_range(values: impl IntoIterator<Item = f64>, pad: f64) -> Range<f64> {
    let (lo, hi) = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return 0.0..1.0;
    }
    let span = if hi > lo { hi - lo } else { 1.0 };
    (lo - pad * span)..(hi + pad * span)
}

/// Ticks for a logarithmic axis over `lo..hi` (positive): 1, 2 and 5
/// times the powers of ten over three decades or less, the powers of ten
/// alone beyond, from the largest tick at or below `lo` to the smallest at
/// or above `hi`, so the lowest and the highest values can be read against
/// a labelled line. Returns the ticks; the first and last are the range.
pub fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let decades = (hi / lo).log10();
    let mantissas: &[f64] = if decades <= 3.0 {
        &[1.0, 2.0, 5.0]
    } else {
        &[1.0]
    };
    let first_power = lo.log10().floor() as i32;
    let mut ticks = Vec::new();
    for power in first_power..=hi.log10().ceil() as i32 {
        for &m in mantissas {
            let tick = m * 10f64.powi(power);
            // The last tick at or below lo starts the list; stop after the
            // first at or above hi.
            if tick <= lo {
                ticks.clear();
            }
            ticks.push(tick);
            if tick >= hi {
                return ticks;
            }
        }
    }
    ticks
}

/// Loss curves against `x_desc` (epochs, steps), on a logarithmic axis
/// labelled at 1, 2, 5 times the powers of ten (see [`log_ticks`]).
/// Values that are not positive and finite are left out. Earlier series
/// are drawn wider, so a later one drawn over an equal curve (Adam and
/// AdamW) leaves it visible on both sides.
pub fn draw_loss_curves(
    area: &Area<'_>,
    title: &str,
    x_desc: &str,
    series: &[Series],
) -> Result<(), BoxError> {
    let positive = |&(_, y): &(f64, f64)| y > 0.0 && y.is_finite();
    let points = || {
        series
            .iter()
            .flat_map(|s| s.points.iter().copied().filter(positive))
    };
    let x_max = points().map(|(x, _)| x).fold(0.0, f64::max);
    let x_max = if x_max > 0.0 { x_max } else { 1.0 };
    let (lo, hi) = points().fold((f64::INFINITY, 0.0_f64), |(lo, hi), (_, y)| {
        (lo.min(y), hi.max(y))
    });
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (1e-3, 1.0) };
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo / 2.0, hi * 2.0)
    };
    let ticks = log_ticks(lo, hi);
    let y_range = ticks[0]..ticks[ticks.len() - 1];
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..x_max, y_range.log_scale().with_key_points(ticks))?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc("loss")
        .light_line_style(TRANSPARENT)
        .x_label_formatter(&|x| compact(*x))
        .y_label_formatter(&|y| compact(*y))
        .draw()?;
    for (i, s) in series.iter().enumerate() {
        let style = s.color.stroke_width(line_width(i, series.len()));
        chart
            .draw_series(LineSeries::new(
                s.points.iter().copied().filter(positive),
                style,
            ))?
            .label(s.name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// The stroke width of series `i` of `n`: 2 pixels for the last, 2 more
/// for each one before it (at most 4 series are widened).
pub fn line_width(i: usize, n: usize) -> u32 {
    2 + 2 * (n.min(4).saturating_sub(1).saturating_sub(i)) as u32
}

/// A number in few characters: `0.25`, `3`, `1e-4`.
pub fn compact(y: f64) -> String {
    if y == 0.0 || (1e-2..1e4).contains(&y.abs()) {
        let text = format!("{y:.3}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        format!("{y:.0e}")
    }
}

/// A labelled point of a 2-D classification dataset.
#[derive(Clone, Copy, Debug)]
pub struct LabelledPoint {
    pub x: f64,
    pub y: f64,
    pub class: usize,
    /// Test points are drawn as crosses, training points as dots.
    pub test: bool,
}

/// `range` with `fraction` of its span added on top: room for a legend
/// above the data.
pub fn with_headroom(range: Range<f64>, fraction: f64) -> Range<f64> {
    let span = range.end - range.start;
    range.start..range.end + fraction * span
}

/// The regions a classifier assigns to each class, over a grid covering
/// the points, with the points on top (training points as dots, test
/// points as crosses, as the legend says, above the data). `classify`
/// receives the grid's points (in the plot's coordinates) and returns one
/// class each. `axes` names the two features.
pub fn draw_decision_boundary(
    area: &Area<'_>,
    title: &str,
    axes: (&str, &str),
    points: &[LabelledPoint],
    classify: impl Fn(&[(f64, f64)]) -> Vec<usize>,
) -> Result<(), BoxError> {
    const GRID: usize = 200;
    let xs = padded_range(points.iter().map(|p| p.x), 0.08);
    let ys = with_headroom(padded_range(points.iter().map(|p| p.y), 0.08), 0.15);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(xs.clone(), ys.clone())?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(axes.0)
        .y_desc(axes.1)
        .draw()?;
    let (dx, dy) = (
        (xs.end - xs.start) / GRID as f64,
        (ys.end - ys.start) / GRID as f64,
    );
    let cells: Vec<(f64, f64)> = (0..GRID * GRID)
        .map(|k| {
            let (i, j) = (k % GRID, k / GRID);
            (
                xs.start + (i as f64 + 0.5) * dx,
                ys.start + (j as f64 + 0.5) * dy,
            )
        })
        .collect();
    let classes = classify(&cells);
    // One rectangle per run of equal classes along a row keeps the file small.
    let mut runs = Vec::new();
    for (j, row) in classes.chunks(GRID).enumerate() {
        let mut start = 0;
        for i in 1..=GRID {
            if i == GRID || row[i] != row[start] {
                runs.push((start, i, j, row[start]));
                start = i;
            }
        }
    }
    chart.draw_series(runs.into_iter().map(|(i0, i1, j, class)| {
        let corners = [
            (xs.start + i0 as f64 * dx, ys.start + j as f64 * dy),
            (xs.start + i1 as f64 * dx, ys.start + (j + 1) as f64 * dy),
        ];
        Rectangle::new(corners, color(class).mix(0.25).filled())
    }))?;
    chart
        .draw_series(
            points
                .iter()
                .filter(|p| !p.test)
                .map(|p| Circle::new((p.x, p.y), 2, color(p.class).filled())),
        )?
        .label("train")
        .legend(|(x, y)| Circle::new((x + 9, y), 3, BLACK.filled()));
    chart
        .draw_series(
            points
                .iter()
                .filter(|p| p.test)
                .map(|p| Cross::new((p.x, p.y), 3, color(p.class).stroke_width(2))),
        )?
        .label("test")
        .legend(|(x, y)| Cross::new((x + 9, y), 4, BLACK.stroke_width(2)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// A 1-D regression: the data points and the model's curve, with the
/// legend in room left above the data.
pub fn draw_regression_fit(
    area: &Area<'_>,
    title: &str,
    points: &[(f64, f64)],
    predict: impl Fn(&[f64]) -> Vec<f64>,
) -> Result<(), BoxError> {
    let xs = padded_range(points.iter().map(|p| p.0), 0.02);
    let ys = with_headroom(padded_range(points.iter().map(|p| p.1), 0.1), 0.3);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(xs.clone(), ys)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .x_desc("x")
        .y_desc("y")
        .draw()?;
    chart
        .draw_series(
            points
                .iter()
                .map(|&p| Circle::new(p, 2, color(0).mix(0.5).filled())),
        )?
        .label("data")
        .legend(|(x, y)| Circle::new((x + 9, y), 3, color(0).mix(0.5).filled()));
    let grid: Vec<f64> = (0..=200)
        .map(|i| xs.start + (xs.end - xs.start) * i as f64 / 200.0)
        .collect();
    let curve = grid.iter().copied().zip(predict(&grid));
    chart
        .draw_series(LineSeries::new(curve, color(3).stroke_width(2)))?
        .label("model")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color(3).stroke_width(2)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// Paths of iterates over the contour lines of `f` at `levels`, within
/// `xs` by `ys`. Paths are clipped to the plotted box (a diverging method
/// leaves it), and their iterates are marked when there are few of them.
/// `minimum` is marked with a star-like cross. The axes are named `x`
/// and `y`, the function's two arguments; paths are drawn wider the
/// earlier they come, so equal paths stay visible.
pub fn draw_contours_with_paths(
    area: &Area<'_>,
    title: &str,
    f: impl Fn(f64, f64) -> f64,
    (xs, ys): (Range<f64>, Range<f64>),
    levels: &[f64],
    paths: &[Series],
    minimum: (f64, f64),
) -> Result<(), BoxError> {
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(xs.clone(), ys.clone())?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("x")
        .y_desc("y")
        .draw()?;
    for (k, &level) in levels.iter().enumerate() {
        let shade = 200 - (140 * k / levels.len().max(1)) as u8;
        let style = RGBColor(shade, shade, shade).stroke_width(1);
        let segments = contour_segments(&f, (&xs, &ys), 160, level);
        chart.draw_series(
            segments
                .into_iter()
                .map(|[a, b]| PathElement::new(vec![a, b], style)),
        )?;
    }
    let inside = |&(x, y): &(f64, f64)| xs.contains(&x) && ys.contains(&y);
    for (i, path) in paths.iter().enumerate() {
        let style = path.color.stroke_width(line_width(i, paths.len()));
        let mut pieces = clip_polyline(&path.points, (&xs, &ys)).into_iter();
        let first = pieces.next().unwrap_or_default();
        chart
            .draw_series(std::iter::once(PathElement::new(first, style)))?
            .label(path.name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
        chart.draw_series(pieces.map(|piece| PathElement::new(piece, style)))?;
        if path.points.len() <= 60 {
            chart.draw_series(
                path.points
                    .iter()
                    .filter(|p| inside(p))
                    .map(|&p| Circle::new(p, 3, path.color.filled())),
            )?;
        }
    }
    chart.draw_series(std::iter::once(Cross::new(
        minimum,
        6,
        BLACK.stroke_width(2),
    )))?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// Small images in a grid under `title`, each with its own grey scale
/// (its smallest value black, its largest white): a conv layer's learned
/// filters, or misclassified inputs. `images` are row-major, each
/// `size.0` rows of `size.1` pixels; `labels` (one per image, or none)
/// are written under each.
pub fn draw_image_grid(
    area: &Area<'_>,
    title: &str,
    images: &[Vec<f64>],
    size: (usize, usize),
    labels: &[String],
) -> Result<(), BoxError> {
    let area = area.titled(title, ("sans-serif", 18))?;
    let n = images.len().max(1);
    let cols = (n as f64).sqrt().ceil() as usize;
    let rows = n.div_ceil(cols);
    let (w, h) = area.dim_in_pixel();
    let label_room = if labels.is_empty() { 0 } else { 14 };
    let cell = ((w as usize - 20) / cols).min((h as usize - 20) / rows) as i32;
    let pixel = ((cell - 6 - label_room) / size.0.max(size.1) as i32).max(1);
    for (k, image) in images.iter().enumerate() {
        let (lo, hi) = image
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        let scale = if hi > lo { 1.0 / (hi - lo) } else { 0.0 };
        let x0 = 10 + (k % cols) as i32 * cell;
        let y0 = 10 + (k / cols) as i32 * cell;
        for (p, &v) in image.iter().enumerate() {
            let (i, j) = ((p / size.1) as i32, (p % size.1) as i32);
            let grey = (255.0 * (v - lo) * scale).round() as u8;
            let corner = (x0 + j * pixel, y0 + i * pixel);
            area.draw(&Rectangle::new(
                [corner, (corner.0 + pixel, corner.1 + pixel)],
                RGBColor(grey, grey, grey).filled(),
            ))?;
        }
        if let Some(label) = labels.get(k) {
            area.draw(&Text::new(
                label.clone(),
                (x0, y0 + pixel * size.0 as i32 + 2),
                ("sans-serif", 12),
            ))?;
        }
    }
    Ok(())
}
