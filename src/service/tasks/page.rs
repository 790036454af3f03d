//! A page of a list: how many tasks it reads, reading it, and its envelope with the cursor to
//! the next.

use crate::domain::{PageCursor, PageRequest, SortKey, Task, TaskFilter};
use crate::service::ServiceError;
use crate::store::Tx;

/// One page of a list, counted in the same transaction as it was read.
#[derive(Debug, Clone)]
pub struct TaskPage {
    /// The tasks, in the owner's order.
    pub items: Vec<Task>,
    /// Which page this is.
    pub page: PageRequest,
    /// Tasks the filter lets through, in all.
    pub total_items: u64,
    /// Where the next page starts, when there are tasks after this page.
    pub next: Option<PageCursor>,
}

/// How many tasks a page reads: a page by number learns from the total whether another follows
/// it; after a cursor, one row more than the page shows says so.
pub(super) fn page_limit(page: PageRequest, after_cursor: bool) -> u32 {
    if after_cursor {
        page.per_page() + 1
    } else {
        page.per_page()
    }
}

/// Reads a page of list `list` in one transaction: by number, or after a cursor's key.
pub(super) async fn read_page(
    tx: &mut dyn Tx,
    list: i64,
    page: PageRequest,
    after: Option<&SortKey>,
    filter: &TaskFilter,
) -> Result<TaskPage, ServiceError> {
    let limit = page_limit(page, after.is_some());
    let (total_items, items) = match (after, page.offset()) {
        (Some(key), _) => tx.tasks_after(list, Some(key), limit, filter).await?,
        (None, 0) => tx.tasks_after(list, None, limit, filter).await?,
        // A page by number starts after the key of the task just before it: finding that key
        // walks the order index only, then the page itself is a range read, as with a cursor.
        (None, offset) => match tx.key_at(list, offset - 1, filter).await? {
            Some(key) => tx.tasks_after(list, Some(&key), limit, filter).await?,
            None => (tx.count_tasks(list, filter).await?, Vec::new()),
        },
    };
    Ok(page_of(
        page,
        total_items,
        items,
        filter.tag(),
        after.is_some(),
    ))
}

/// The page envelope of `items` (read with [`page_limit`]), with the cursor to the next page.
pub(super) fn page_of(
    page: PageRequest,
    total_items: u64,
    mut items: Vec<Task>,
    tag: String,
    after_cursor: bool,
) -> TaskPage {
    let per_page = page.per_page();
    let more = if after_cursor {
        items.len() > per_page as usize
    } else {
        page.offset() as u64 + u64::from(per_page) < total_items
    };
    items.truncate(per_page as usize);
    let next = match (more, items.last(), page.next()) {
        (true, Some(last), Some(next)) => Some(PageCursor {
            page: next,
            after: last.sort_key.clone(),
            filter: tag,
        }),
        _ => None,
    };
    TaskPage {
        items,
        page,
        total_items,
        next,
    }
}
