//! `trn`: build and inspect map databases (and, as the project grows, simulate, evaluate and
//! demonstrate terrain-relative navigation).
//!
//! Exit codes: 0 success, 1 failure (I/O, internal), 2 bad input (arguments, files that are
//! not what they claim to be, an output another run holds), 130 interrupted (SIGINT, SIGTERM
//! or SIGHUP; the output being written is removed and the previous one kept).

mod demo_cmd;
mod error;
mod eval_cmd;
mod map_cmd;
mod output;
mod progress;
mod report;
mod report_cmd;
mod sim_cmd;

use clap::{Parser, Subcommand};
use error::CliError;

/// Terrain-relative navigation for lunar landers.
#[derive(Debug, Parser)]
#[command(name = "trn", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the shipped default descent end to end and print a summary.
    Demo(demo_cmd::DemoArgs),
    /// Map databases (`.trnmap`): build one from orbital products, describe one.
    #[command(subcommand)]
    Map(map_cmd::MapCommand),
    /// Run a dataset and write results.csv, summary.json and report.html.
    Eval(eval_cmd::EvalArgs),
    /// Render report.html from a results directory and its dataset.
    Report(report_cmd::ReportArgs),
    /// Simulation: synthetic sites and descents written as datasets.
    #[command(subcommand)]
    Sim(sim_cmd::SimCommand),
}

fn main() {
    let cli = Cli::parse();
    output::remove_partial_output_on_signal();
    let result: Result<(), CliError> = match cli.command {
        Command::Demo(a) => demo_cmd::run(a),
        Command::Map(cmd) => map_cmd::run(cmd),
        Command::Sim(cmd) => sim_cmd::run(cmd),
        Command::Eval(a) => eval_cmd::run(a),
        Command::Report(a) => report_cmd::run(a),
    };
    if let Err(e) = result {
        eprintln!("trn: error: {e}");
        std::process::exit(e.exit_code());
    }
}
