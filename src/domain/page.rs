use super::Invalid;

const DEFAULT_PER_PAGE: i64 = 20;
/// The largest page size.
pub const MAX_PER_PAGE: u32 = 100;
const MAX_PAGE: i64 = u32::MAX as i64;

/// Which page of a list to show: `page` ≥ 1, `per_page` 1..=100.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    page: u32,
    per_page: u32,
}

impl PageRequest {
    /// Applies the defaults (page 1, 20 per page); errors name the parameter at fault.
    pub fn parse(
        page: Option<i64>,
        per_page: Option<i64>,
    ) -> Result<Self, (&'static str, Invalid)> {
        let page = page.unwrap_or(1);
        let per_page = per_page.unwrap_or(DEFAULT_PER_PAGE);
        if !(1..=MAX_PAGE).contains(&page) {
            return Err(("page", Invalid(format!("must be between 1 and {MAX_PAGE}"))));
        }
        if !(1..=i64::from(MAX_PER_PAGE)).contains(&per_page) {
            return Err((
                "per_page",
                Invalid(format!("must be between 1 and {MAX_PER_PAGE}")),
            ));
        }
        Ok(Self {
            page: page as u32,
            per_page: per_page as u32,
        })
    }

    /// The 1-based page number.
    pub fn page(self) -> u32 {
        self.page
    }

    /// Items per page.
    pub fn per_page(self) -> u32 {
        self.per_page
    }

    /// How many items come before this page.
    pub fn offset(self) -> i64 {
        (i64::from(self.page) - 1) * i64::from(self.per_page)
    }

    /// The page after this one, if there can be one.
    pub fn next(self) -> Option<Self> {
        self.page.checked_add(1).map(|page| Self { page, ..self })
    }

    /// Pages needed for `total` items (0 for an empty list).
    pub fn total_pages(self, total: u64) -> u64 {
        total.div_ceil(u64::from(self.per_page))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        let p = PageRequest::parse(None, None).unwrap();
        assert_eq!((p.page(), p.per_page(), p.offset()), (1, 20, 0));
        assert_eq!(PageRequest::parse(Some(3), Some(10)).unwrap().offset(), 20);
        assert_eq!(PageRequest::parse(Some(0), None).unwrap_err().0, "page");
        assert_eq!(PageRequest::parse(None, Some(0)).unwrap_err().0, "per_page");
        assert_eq!(
            PageRequest::parse(None, Some(101)).unwrap_err().0,
            "per_page"
        );
        assert_eq!(PageRequest::parse(Some(-1), None).unwrap_err().0, "page");
    }

    #[test]
    fn total_pages_rounds_up() {
        let p = PageRequest::parse(None, Some(10)).unwrap();
        assert_eq!(p.total_pages(0), 0);
        assert_eq!(p.total_pages(25), 3);
        assert_eq!(p.total_pages(30), 3);
    }
}
