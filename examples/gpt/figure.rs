//! The figure of the `gpt` example: the loss curves (the training loss
//! averaged over windows of steps, and the held-out loss at each
//! evaluation) beside the held-out exact match and per-token accuracy.

use std::path::Path;

use plotters::prelude::*;

use super::evaluate::Evaluation;
use crate::support::plot::{self, color, compact, line_width, Area, Series};
use crate::support::BoxError;

/// At most this many points of the training loss are drawn (each the mean
/// of a window of steps), however long the run.
const TRAIN_POINTS: usize = 400;

pub fn draw(
    path: &Path,
    title: &str,
    train_losses: &[f64],
    evaluations: &[Evaluation],
    target: Option<f64>,
) -> Result<(), BoxError> {
    let window = train_losses.len().div_ceil(TRAIN_POINTS).max(1);
    let train = Series {
        name: if window == 1 {
            "train (each step)".to_string()
        } else {
            format!("train (mean of {window} steps)")
        },
        color: color(0),
        points: train_losses
            .chunks(window)
            .enumerate()
            .map(|(k, c)| {
                let step = (k * window + c.len()) as f64;
                (step, c.iter().sum::<f64>() / c.len() as f64)
            })
            .collect(),
    };
    let held_out = Series {
        name: "held-out".to_string(),
        color: color(1),
        points: evaluations
            .iter()
            .map(|e| (e.step as f64, e.loss))
            .collect(),
    };
    let percent = |name: &str, i, y: fn(&Evaluation) -> f64| Series {
        name: name.to_string(),
        color: color(i),
        points: evaluations
            .iter()
            .map(|e| (e.step as f64, 100.0 * y(e)))
            .collect(),
    };
    let accuracy = [
        percent("exact match", 2, |e| e.exact_match),
        percent("per-token accuracy", 3, |e| e.token_accuracy),
    ];
    plot::svg(path, (1200, 480), |root| {
        let panels = root.split_evenly((1, 2));
        plot::draw_loss_curves(
            &panels[0],
            &format!("loss: {title}"),
            "step",
            &[train, held_out],
        )?;
        draw_percentages(&panels[1], "held-out answers (greedy)", &accuracy, target)
    })
}

/// Curves in percent (0 to 100) against the step, with the target as a
/// dashed-looking grey line when there is one.
fn draw_percentages(
    area: &Area<'_>,
    title: &str,
    series: &[Series],
    target: Option<f64>,
) -> Result<(), BoxError> {
    let x_max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .fold(1.0, f64::max);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..x_max, 0.0..100.0)?;
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc("% of held-out")
        .light_line_style(TRANSPARENT)
        .x_label_formatter(&|x| compact(*x))
        .draw()?;
    if let Some(target) = target {
        let grey = RGBColor(127, 127, 127).stroke_width(1);
        chart
            .draw_series(LineSeries::new(
                [(0.0, 100.0 * target), (x_max, 100.0 * target)],
                grey,
            ))?
            .label(format!("target {}%", compact(100.0 * target)))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], grey));
    }
    for (i, s) in series.iter().enumerate() {
        let style = s.color.stroke_width(line_width(i, series.len()));
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
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}
