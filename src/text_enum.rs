//! One way to declare a status (or any closed set of words) that is stored as text and shown as
//! text: [`text_enum!`] writes the enum with its words, `as_str`, `ALL`, `Display`, `FromStr`
//! (an unknown word is an error naming the known ones), serde as the word, and an OpenAPI schema
//! that lists the words. Pure: the database mapping is `crate::db::text_column!`, invoked where
//! the enum is stored.

/// Declares a text enum; see the module documentation.
///
/// ```ignore
/// text_enum! {
///     /// Where an enquiry stands.
///     pub enum EnquiryStatus {
///         Open => "open",
///         Confirmed => "confirmed",
///     }
/// }
/// ```
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $ty:ident {
            $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        $vis enum $ty {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The stored and shown word.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $text),+
                }
            }
        }

        // Written by hand rather than derived: the derive does not see a `rename` whose word
        // comes from a macro argument, and would list the variant names instead.
        impl utoipa::PartialSchema for $ty {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $ty {}

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $ty::ALL.iter().copied().find(|v| v.as_str() == s).ok_or_else(|| {
                    let all: Vec<&str> = $ty::ALL.iter().map(|v| v.as_str()).collect();
                    format!("must be one of {}, not {s:?}", all.join(", "))
                })
            }
        }
    };
}

pub(crate) use text_enum;

#[cfg(test)]
mod tests {
    text_enum! {
        /// A test set.
        pub enum Colour {
            Red => "red",
            /// Documented variants keep their docs.
            DarkBlue => "dark_blue",
        }
    }

    #[test]
    fn words_round_trip_and_unknown_words_are_errors() {
        assert_eq!(Colour::DarkBlue.as_str(), "dark_blue");
        assert_eq!("red".parse::<Colour>(), Ok(Colour::Red));
        let err = "green".parse::<Colour>().unwrap_err();
        assert!(
            err.contains("red, dark_blue") && err.contains("green"),
            "{err}"
        );
        assert_eq!(
            serde_json::to_string(&Colour::DarkBlue).unwrap(),
            "\"dark_blue\""
        );
        assert!(serde_json::from_str::<Colour>("\"green\"").is_err());
    }

    #[test]
    fn the_schema_lists_every_word() {
        use utoipa::PartialSchema;
        let schema = serde_json::to_value(Colour::schema()).unwrap();
        assert_eq!(
            schema["enum"],
            serde_json::json!(["red", "dark_blue"]),
            "{schema}"
        );
    }
}
