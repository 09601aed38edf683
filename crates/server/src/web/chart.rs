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
    compare_chart(key, &[(String::new(), points.to_vec())])
}

/// One metric over steps in several runs: a line per run, named in a legend.
pub fn compare_chart(key: &str, lines: &[(String, Vec<(i64, f64)>)]) -> String {
    let thinned: Vec<(&str, Vec<(i64, f64)>)> = lines
        .iter()
        .map(|(name, points)| (name.as_str(), thin(points)))
        .collect();
    let mut svg = String::new();
    match draw(&mut svg, key, &thinned) {
        Ok(()) => svg,
        Err(e) => {
            tracing::warn!(metric = key, error = %e, "could not draw a chart");
            String::new()
        }
    }
}

/// The finite points, at most [`MAX_POINTS`] of them, evenly spaced, the last one kept.
fn thin(points: &[(i64, f64)]) -> Vec<(i64, f64)> {
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
    shown
}

fn draw(
    svg: &mut String,
    key: &str,
    lines: &[(&str, Vec<(i64, f64)>)],
) -> Result<(), Box<dyn std::error::Error>> {
    let all = || lines.iter().flat_map(|(_, points)| points.iter());
    let (x0, x1) = all().fold((i64::MAX, i64::MIN), |(lo, hi), (x, _)| {
        (lo.min(*x), hi.max(*x))
    });
    let (x0, x1) = if x0 > x1 {
        (0, 1)
    } else {
        (x0, x1.max(x0 + 1))
    };
    let (mut y0, mut y1) = all().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (_, v)| {
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
    let named = lines.iter().any(|(name, _)| !name.is_empty());
    for (i, (name, points)) in lines.iter().enumerate() {
        let color = if i == 0 {
            RGBColor(11, 87, 208)
        } else {
            let (r, g, b) = Palette99::pick(i).to_rgba().rgb();
            RGBColor(r, g, b)
        };
        let series = chart.draw_series(LineSeries::new(
            points.iter().copied(),
            color.stroke_width(2),
        ))?;
        if named {
            series.label(*name).legend(move |(x, y)| {
                PathElement::new([(x, y), (x + 16, y)], color.stroke_width(2))
            });
        }
    }
    if named {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(208, 215, 222))
            .draw()?;
    }
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

    #[test]
    fn a_compare_chart_draws_a_named_line_per_run() {
        let lines = vec![
            ("run <a>".to_owned(), vec![(0, 1.0), (1, 0.5)]),
            ("run b".to_owned(), vec![(0, 2.0), (5, 0.1)]),
        ];
        let svg = compare_chart("loss", &lines);
        assert!(
            svg.contains("run &lt;a&gt;") && svg.contains("run b"),
            "a legend"
        );
        let (r, g, b) = Palette99::pick(1).to_rgba().rgb();
        let second = format!("#{r:02X}{g:02X}{b:02X}");
        assert!(svg.contains("#0B57D0"), "the first run's line");
        assert_eq!(
            svg.matches(&second).count(),
            2,
            "the second run's line and legend mark"
        );
    }
}
