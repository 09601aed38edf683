//! The web UI in a real headless Chromium, driven over WebDriver (chromedriver) with
//! fantoccini, against Hangar served on a loopback port. Every page visited is saved as a
//! screenshot under `target/screenshots/`.
//!
//! Needs `chromium` and `chromedriver` on the PATH (Debian: `chromium`, `chromium-driver`);
//! without them the tests say so and pass, unless `HANGAR_REQUIRE_BROWSER=1` (the test
//! command sets it), which makes a missing browser a failure.

mod browser;
mod mlflow_charts;
mod pages;
mod prompts;
mod settings;
