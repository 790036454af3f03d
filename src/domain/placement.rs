use super::Invalid;

/// Where a moved task should go in its owner's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Immediately before the task with this id.
    Before(i64),
    /// Immediately after the task with this id.
    After(i64),
    /// First in the list.
    Start,
    /// Last in the list.
    End,
}

impl Placement {
    /// Exactly one of the three ways to say where; `to` is `"start"` or `"end"`.
    pub fn parse(
        before_id: Option<i64>,
        after_id: Option<i64>,
        to: Option<&str>,
    ) -> Result<Self, Invalid> {
        match (before_id, after_id, to) {
            (Some(id), None, None) => Ok(Self::Before(id)),
            (None, Some(id), None) => Ok(Self::After(id)),
            (None, None, Some("start")) => Ok(Self::Start),
            (None, None, Some("end")) => Ok(Self::End),
            (None, None, Some(_)) => Err(Invalid("`to` must be \"start\" or \"end\"".into())),
            _ => Err(Invalid(
                "give exactly one of before_id, after_id or to (\"start\" / \"end\")".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_one_target() {
        assert_eq!(
            Placement::parse(Some(1), None, None),
            Ok(Placement::Before(1))
        );
        assert_eq!(
            Placement::parse(None, Some(2), None),
            Ok(Placement::After(2))
        );
        assert_eq!(
            Placement::parse(None, None, Some("start")),
            Ok(Placement::Start)
        );
        assert_eq!(
            Placement::parse(None, None, Some("end")),
            Ok(Placement::End)
        );
        assert!(Placement::parse(None, None, None).is_err());
        assert!(Placement::parse(Some(1), Some(2), None).is_err());
        assert!(Placement::parse(Some(1), None, Some("end")).is_err());
        assert!(Placement::parse(None, None, Some("middle")).is_err());
    }
}
