//! `hangar`: the model registry server and its administration.

#![forbid(unsafe_code)]

mod admin;
mod config;
mod serve;

use clap::{Parser, Subcommand};
use config::SettingsArgs;

#[derive(Debug, Parser)]
#[command(
    name = "hangar",
    version,
    about = "A self-hosted model registry that speaks MLflow and GitLab"
)]
struct Cli {
    #[command(flatten)]
    settings: SettingsArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (creates the data folder, the database and an admin on first start).
    Serve,
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Administer users, projects, members and tokens directly in the database.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the effective settings (TOML), without secrets.
    Show,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = cli.settings.load()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Serve => runtime.block_on(serve::run(settings)),
        Command::Config(ConfigCommand::Show) => {
            print!("{}", settings.show()?);
            Ok(())
        }
        Command::Admin(command) => runtime.block_on(admin::run(settings, command)),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        super::Cli::command().debug_assert();
    }
}
