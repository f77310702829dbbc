//! Configuration through figment. Each setting is declared once, as a field of [`sova_server::Config`] (its name,
//! type, default and help); this module makes the command-line flags from that struct's JSON schema and reads the
//! struct from, lowest first: its defaults, the TOML file (`--config FILE`, or `./sova.toml` when present), the
//! `SOVA_*` environment variables, the flags given. A value that cannot be read is refused, naming the setting and
//! where the value came from; so is an unknown key in the file.

use std::path::PathBuf;
use std::sync::OnceLock;

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command};
use figment::error::Kind;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider, Source};
use sova_server::Config;

/// The settings the admin commands take as flags: where the database is.
const DB_KEYS: &[&str] = &["data_dir", "database_url"];

/// Provider names, for the errors.
const COMMAND_LINE: &str = "command line";
const ENVIRONMENT: &str = "environment";

/// A setting of [`Config`] as the command line shows it.
struct Setting {
    /// TOML key (snake_case).
    key: String,
    /// `--` and the key in kebab-case.
    flag: String,
    /// `SOVA_` and the key in upper case.
    env: String,
    /// The key in upper case.
    value_name: String,
    help: String,
    /// The default as `--help` shows it; none for settings unset by default.
    default: Option<String>,
    /// A list: the flag is repeatable and takes comma-separated values.
    list: bool,
}

/// A doc comment as a flag's help: on one line, without the final period (like clap's derive).
fn help(doc: &str) -> String {
    let line = doc.replace('\n', " ");
    line.strip_suffix('.').unwrap_or(&line).to_string()
}

fn env_var(key: &str) -> String {
    format!("SOVA_{}", key.to_ascii_uppercase())
}

/// The settings with a flag and an environment variable: the properties of [`Config`]'s JSON schema (every field
/// but the TOML-only `[exchange]` table), with the fields' doc comments and [`Config::default`]'s values.
fn settings() -> &'static [Setting] {
    static SETTINGS: OnceLock<Vec<Setting>> = OnceLock::new();
    SETTINGS.get_or_init(|| {
        let schema = schemars::schema_for!(Config);
        let properties = schema.get("properties").and_then(|p| p.as_object()).cloned().unwrap_or_default();
        properties
            .into_iter()
            .map(|(key, p)| {
                let default = match p.get("default") {
                    None | Some(serde_json::Value::Null) => None,
                    Some(serde_json::Value::Array(a)) if a.is_empty() => None,
                    Some(serde_json::Value::String(s)) => Some(s.clone()),
                    Some(v) => Some(v.to_string()),
                };
                Setting {
                    flag: key.replace('_', "-"),
                    env: env_var(&key),
                    value_name: key.to_ascii_uppercase(),
                    help: help(p.get("description").and_then(|d| d.as_str()).unwrap_or_default()),
                    default,
                    list: p.get("type").and_then(|t| t.as_str()) == Some("array"),
                    key,
                }
            })
            .collect()
    })
}

/// The flags of a command that reads the configuration: every setting (`sova serve`, `ALL`) or where the database is
/// (the admin commands); both take `--config`. Only the flags given on the command line are kept: clap also reads the
/// environment variables (to show them in `--help`), but figment reads the environment itself.
#[derive(Debug, Clone)]
pub struct Flags<const ALL: bool> {
    config: Option<PathBuf>,
    given: Dict,
}

/// The flags of `sova serve`.
pub type ServeFlags = Flags<true>;
/// The flags of the admin commands.
pub type DbFlags = Flags<false>;

impl<const ALL: bool> Flags<ALL> {
    fn settings() -> impl Iterator<Item = &'static Setting> {
        settings().iter().filter(|s| ALL || DB_KEYS.contains(&s.key.as_str()))
    }

    fn args(mut cmd: Command) -> Command {
        cmd = cmd.arg(
            Arg::new("config")
                .long("config")
                .env("SOVA_CONFIG")
                .value_name("FILE")
                .value_parser(clap::value_parser!(PathBuf))
                .help("TOML configuration file (default: ./sova.toml when it exists)"),
        );
        for s in Self::settings() {
            let mut arg = Arg::new(s.key.as_str())
                .long(s.flag.as_str())
                .env(s.env.as_str())
                .hide_env_values(true)
                .value_name(s.value_name.as_str())
                .allow_negative_numbers(true)
                .help(s.help.as_str());
            if let Some(default) = &s.default {
                arg = arg.default_value(default.as_str());
            }
            if s.list {
                arg = arg.action(ArgAction::Append).value_delimiter(',');
            }
            cmd = cmd.arg(arg);
        }
        cmd
    }
}

impl<const ALL: bool> clap::Args for Flags<ALL> {
    fn augment_args(cmd: Command) -> Command {
        Self::args(cmd)
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::args(cmd)
    }
}

impl<const ALL: bool> clap::FromArgMatches for Flags<ALL> {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let mut given = Dict::new();
        for s in Self::settings() {
            if m.value_source(&s.key) != Some(ValueSource::CommandLine) {
                continue;
            }
            let mut values = m.get_many::<String>(&s.key).into_iter().flatten().map(|v| Value::from(v.clone()));
            let value = if s.list { Some(Value::from(values.collect::<Vec<_>>())) } else { values.next() };
            let Some(value) = value else { continue };
            given.insert(s.key.clone(), value);
        }
        Ok(Self { config: m.get_one::<PathBuf>("config").cloned(), given })
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

/// The flags given, as strings for the settings' types to read (like the environment's values).
impl<const ALL: bool> Provider for Flags<ALL> {
    fn metadata(&self) -> Metadata {
        Metadata::named(COMMAND_LINE)
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.given.clone()))
    }
}

/// figment's `SOVA_` environment provider, restricted to the settings' variables (`SOVA_LOG`, `SOVA_URL` and the
/// like belong to others) and with the values left as strings for the settings' types to read: figment would parse
/// `SOVA_DATA_DIR=2024` into a number, which a path setting then refuses.
struct Environment(Env);

impl Environment {
    fn new() -> Self {
        let keys: Vec<&str> = settings().iter().map(|s| s.key.as_str()).collect();
        Self(Env::prefixed("SOVA_").only(&keys))
    }
}

impl Provider for Environment {
    fn metadata(&self) -> Metadata {
        Metadata::named(ENVIRONMENT)
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let vars = self.0.iter().map(|(key, value)| (key.as_str().to_string(), Value::from(value))).collect();
        Ok(Profile::Default.collect(vars))
    }
}

/// The configuration: defaults < TOML file < `SOVA_*` environment < flags given.
pub fn load<const ALL: bool>(flags: &Flags<ALL>) -> anyhow::Result<Config> {
    let file = match &flags.config {
        Some(path) if !path.exists() => anyhow::bail!("configuration file {} does not exist", path.display()),
        Some(path) => Some(path.clone()),
        None => Some(PathBuf::from("sova.toml")).filter(|p| p.exists()),
    };
    let mut figment = Figment::from(Serialized::defaults(Config::default()));
    if let Some(file) = &file {
        figment = figment.merge(Toml::file_exact(file));
    }
    // Lossy: the strings of the environment and the flags are read as the numbers and booleans the types ask for.
    let mut config: Config = figment.merge(Environment::new()).merge(flags).extract_lossy().map_err(explain)?;
    // `chain_id` (a flag, a variable or a top-level key) overrides the `[exchange]` table's.
    if let Some(id) = config.chain_id {
        config.exchange.chain_id = id;
    }
    // So does `exchange_coin_prefix` the table's `coin_name_prefix`.
    if let Some(prefix) = &config.exchange_coin_prefix {
        config.exchange.coin_name_prefix.clone_from(prefix);
    }
    Ok(config)
}

/// One line per error: `setting: what is wrong (from where)`.
fn explain(errors: figment::Error) -> anyhow::Error {
    let lines: Vec<String> = errors
        .into_iter()
        .map(|e| {
            let key = e.path.join(".");
            let what = match &e.kind {
                Kind::UnknownVariant(value, expected) => {
                    format!("unknown value '{value}', expected {}", one_of(expected))
                }
                Kind::UnknownField(..) => "unknown key".to_string(),
                kind => kind.to_string(),
            };
            let from = match &e.metadata {
                Some(Metadata { source: Some(Source::File(path)), .. }) => Some(path.display().to_string()),
                Some(md) if md.name == COMMAND_LINE => Some(format!("--{}", key.replace('_', "-"))),
                Some(md) if md.name == ENVIRONMENT => Some(env_var(&key)),
                Some(md) => Some(md.name.to_string()),
                None => None,
            };
            match (key.is_empty(), from) {
                (false, Some(from)) => format!("{key}: {what} (from {from})"),
                (false, None) => format!("{key}: {what}"),
                // The file could not be read at all (its syntax).
                (true, Some(from)) => format!("{from}: {what}"),
                (true, None) => what,
            }
        })
        .collect();
    anyhow::anyhow!(lines.join("; "))
}

/// `a`, `a or b`, `a, b or c`.
fn one_of(names: &[&str]) -> String {
    match names {
        [] => "nothing".to_string(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests;
