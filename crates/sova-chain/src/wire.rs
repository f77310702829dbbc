//! Wire names: `Display`, `FromStr` and serde impls of [`Chain`], [`Network`] and [`Currency`].
//!
//! They live here, above the types and [`ChainError`], so that `network`, `currency` and `error`
//! do not import each other in a circle.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::currency::Currency;
use crate::error::ChainError;
use crate::network::{Chain, Network};

macro_rules! wire_name_impls {
    ($ty:ident, $err:ident, $expecting:literal) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = ChainError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $ty::parse(s).ok_or_else(|| ChainError::$err(s.to_owned()))
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct WireVisitor;

                impl serde::de::Visitor<'_> for WireVisitor {
                    type Value = $ty;

                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }

                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$ty, E> {
                        $ty::parse(v).ok_or_else(|| E::custom(ChainError::$err(v.to_owned())))
                    }
                }

                deserializer.deserialize_str(WireVisitor)
            }
        }
    };
}

wire_name_impls!(Chain, UnknownChain, "a chain family name");
wire_name_impls!(Network, UnknownNetwork, "a network name");
wire_name_impls!(Currency, UnknownCurrency, "a currency code");
