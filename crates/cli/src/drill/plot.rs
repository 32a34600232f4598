//! `--plot FILE.svg`: three panels over the drill's seconds — throughput, citizens waiting (and journeys under way),
//! and the p99 latency of the requests answered in each second.

use std::path::Path;

use plotters::prelude::*;

use super::report::Report;

/// One line of a panel: its name, its points (second, value) and its colour.
type Line = (&'static str, Vec<(u32, f64)>, RGBColor);

/// Draws the report's timeline as SVG into `path`.
pub fn draw(path: &Path, report: &Report) -> anyhow::Result<()> {
    let seconds = report.timeline.len().max(1) as u32;
    let root = SVGBackend::new(path, (960, 900)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let panels = root.split_evenly((3, 1));
    let series = |f: &dyn Fn(&super::report::Second) -> f64| -> Vec<(u32, f64)> {
        report.timeline.iter().enumerate().map(|(i, s)| (i as u32, f(s))).collect()
    };
    let throughput = [
        ("journeys/s", series(&|s| s.journeys as f64), BLUE),
        ("submissions/s", series(&|s| s.submissions as f64), GREEN),
    ];
    let mut crowd = vec![
        ("drill citizens waiting", series(&|s| s.waiting as f64), RED),
        ("journeys under way", series(&|s| s.in_flight as f64), MAGENTA),
    ];
    if report.timeline.iter().any(|s| s.queue_length.is_some()) {
        crowd.push(("queue length (/stato)", series(&|s| s.queue_length.unwrap_or(0) as f64), CYAN));
    }
    let latency = [("p99 latency, ms", series(&|s| s.p99_ms), BLACK)];
    let charts: [(&str, &[Line]); 3] = [
        ("Throughput per second", &throughput),
        ("Waiting room and journeys under way", crowd.as_slice()),
        ("p99 request latency per second (ms)", &latency),
    ];
    for (area, (title, lines)) in panels.iter().zip(charts) {
        let top = lines.iter().flat_map(|(_, points, _)| points.iter().map(|p| p.1)).fold(1.0f64, f64::max) * 1.1;
        let mut chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(0..seconds, 0.0..top)
            .map_err(plot_error)?;
        chart.configure_mesh().x_desc("seconds").draw().map_err(plot_error)?;
        for (name, points, color) in lines {
            let color = *color;
            chart
                .draw_series(LineSeries::new(points.iter().copied(), color.stroke_width(2)))
                .map_err(plot_error)?
                .label(*name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(plot_error)?;
    }
    root.present().map_err(plot_error)?;
    Ok(())
}

fn plot_error<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> anyhow::Error {
    anyhow::anyhow!("cannot draw the plot: {e}")
}
