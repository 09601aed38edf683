//! Metric charts as inline SVG, drawn by plotters on the server: they need no JavaScript.

use plotters::prelude::*;

/// Points drawn per line at most; a longer history is thinned evenly (first and last kept).
const MAX_POINTS: usize = 1000;

/// One chart per metric key, by name, from a run's points (as `all_metric_histories` gives
/// them: by key, then time), each line ordered by step.
pub fn run_charts(points: Vec<hangar_store::model::Metric>) -> Vec<String> {
    let mut by_key: std::collections::BTreeMap<String, Vec<(i64, f64)>> = Default::default();
    for point in points {
        by_key
            .entry(point.key)
            .or_default()
            .push((point.step, point.value));
    }
    by_key
        .into_iter()
        .map(|(key, mut line)| {
            line.sort_by_key(|(step, _)| *step);
            metric_chart(&key, &line)
        })
        .collect()
}

/// A line chart of one metric over steps, as an `<svg>` element.
pub fn metric_chart(key: &str, points: &[(i64, f64)]) -> String {
    let finite: Vec<(i64, f64)> = points
        .iter()
        .copied()
        .filter(|(_, v)| v.is_finite())
        .collect();
    let stride = finite.len().div_ceil(MAX_POINTS).max(1);
    let mut shown: Vec<(i64, f64)> = finite.iter().copied().step_by(stride).collect();
    if let (Some(last), Some(kept)) = (finite.last(), shown.last())
        && last != kept
    {
        shown.push(*last);
    }
    let mut svg = String::new();
    let drawn = draw(&mut svg, key, &shown);
    match drawn {
        Ok(()) => svg,
        Err(e) => {
            tracing::warn!(metric = key, error = %e, "could not draw a chart");
            String::new()
        }
    }
}

fn draw(
    svg: &mut String,
    key: &str,
    points: &[(i64, f64)],
) -> Result<(), Box<dyn std::error::Error>> {
    let (x0, x1) = match (points.first(), points.last()) {
        (Some(a), Some(b)) => (a.0.min(b.0), a.0.max(b.0).max(a.0 + 1)),
        _ => (0, 1),
    };
    let (mut y0, mut y1) = points
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (_, v)| {
            (lo.min(*v), hi.max(*v))
        });
    if !y0.is_finite() {
        (y0, y1) = (0.0, 1.0);
    }
    if y0 == y1 {
        (y0, y1) = (y0 - 0.5, y1 + 0.5);
    }
    let pad = (y1 - y0) * 0.05;
    let root = SVGBackend::with_string(svg, (560, 260)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(key, ("sans-serif", 16))
        .margin(8)
        .x_label_area_size(28)
        .y_label_area_size(56)
        .build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))?;
    chart
        .configure_mesh()
        .x_desc("step")
        .light_line_style(RGBColor(235, 238, 241))
        .draw()?;
    chart.draw_series(LineSeries::new(
        points.iter().copied(),
        RGBColor(11, 87, 208).stroke_width(2),
    ))?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_is_an_svg_with_the_metric_name_and_thinned_points() {
        let points: Vec<(i64, f64)> = (0..10_000).map(|s| (s, (s as f64).sqrt())).collect();
        let svg = metric_chart("loss <&>", &points);
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(200)]);
        assert!(svg.contains("loss &lt;&amp;&gt;"), "the name is escaped");
        assert!(svg.len() < 200_000, "{} bytes", svg.len());
        assert!(!metric_chart("nan", &[(0, f64::NAN)]).is_empty());
    }
}
