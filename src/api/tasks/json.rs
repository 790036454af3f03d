//! Task answers written straight into bytes ([`WriteJson`]), exactly as poem-openapi would
//! write their views: one task, a page of views, and [`PageAnswer`], the list page written
//! from the service's tasks without building views, with [`TaskPageView`]'s schema.

use super::view::{TaskPageView, TaskView};
use crate::api::answer::{Members, WriteJson, write_array};
use crate::domain::{Task, Timestamp};
use crate::service::TaskPage;
use chrono::{DateTime, Utc};

/// One task's members as `TaskView` declares them, from borrowed fields: the view and the list
/// answer (written straight from the service's tasks) both write through here, so they cannot
/// drift apart.
struct TaskJson<'t> {
    id: i64,
    list_id: i64,
    version: i64,
    position: &'t str,
    date: &'t str,
    task: &'t str,
    status: &'static str,
    created_at: Instant<'t>,
    updated_at: Instant<'t>,
}

/// An instant as a task holds it (the service's tasks) or as a view does.
#[derive(Clone, Copy)]
enum Instant<'t> {
    Stored(Timestamp),
    Chrono(&'t DateTime<Utc>),
}

impl Members<'_> {
    fn at(&mut self, key: &'static str, at: Instant<'_>) -> &mut Self {
        match at {
            Instant::Stored(t) => self.instant(key, t),
            Instant::Chrono(t) => self.datetime(key, t),
        }
    }
}

impl WriteJson for TaskJson<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        Members::open(out)
            .int("id", self.id)
            .int("list_id", self.list_id)
            .int("version", self.version)
            .plain("position", self.position)
            .plain("date", self.date)
            .str("task", self.task)
            .plain("status", self.status)
            .at("created_at", self.created_at)
            .at("updated_at", self.updated_at)
            .close();
    }
}

impl WriteJson for TaskView {
    fn write_json(&self, out: &mut Vec<u8>) {
        TaskJson {
            id: self.id,
            list_id: self.list_id,
            version: self.version,
            position: &self.position,
            date: &self.date.0,
            task: &self.task,
            status: self.status.as_str(),
            created_at: Instant::Chrono(&self.created_at),
            updated_at: Instant::Chrono(&self.updated_at),
        }
        .write_json(out);
    }
}

impl WriteJson for TaskPageView {
    fn write_json(&self, out: &mut Vec<u8>) {
        let mut members = Members::open(out);
        members
            .value("items", &self.items)
            .int("page", i64::from(self.page))
            .int("per_page", i64::from(self.per_page))
            .int("total_items", self.total_items as i64)
            .int("total_pages", self.total_pages as i64);
        if let Some(cursor) = &self.next_cursor {
            members.plain("next_cursor", cursor);
        }
        members.close();
    }
}

/// A page as `list` answers it: written straight from the service's tasks, with the schema of
/// [`TaskPageView`] (building the views first, then dropping them, cost 18k of the list
/// request's 275k instructions).
pub struct PageAnswer(pub(super) TaskPage);

impl poem_openapi::types::Type for PageAnswer {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> std::borrow::Cow<'static, str> {
        TaskPageView::name()
    }

    fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
        TaskPageView::schema_ref()
    }

    fn register(registry: &mut poem_openapi::registry::Registry) {
        TaskPageView::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl WriteJson for PageAnswer {
    fn write_json(&self, out: &mut Vec<u8>) {
        let page = &self.0;
        let mut members = Members::open(out);
        members
            .value("items", &TaskList(&page.items))
            .int("page", i64::from(page.page.page()))
            .int("per_page", i64::from(page.page.per_page()))
            .int("total_items", page.total_items as i64)
            .int(
                "total_pages",
                page.page.total_pages(page.total_items) as i64,
            );
        if let Some(cursor) = &page.next {
            members.plain("next_cursor", &cursor.encode());
        }
        members.close();
    }
}

/// Tasks written as [`TaskView`]s are.
struct TaskList<'t>(&'t [Task]);

impl WriteJson for TaskList<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        write_array(out, self.0, |out, t| {
            let mut date = [0u8; 10];
            TaskJson {
                id: t.id,
                list_id: t.list_id,
                version: t.version,
                position: t.sort_key.as_str(),
                date: t.date.write_iso(&mut date),
                task: t.text.as_str(),
                status: t.status.as_str(),
                created_at: Instant::Stored(t.created_at),
                updated_at: Instant::Stored(t.updated_at),
            }
            .write_json(out);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::{PageAnswer, TaskPageView, TaskView, WriteJson};
    use crate::domain::{
        PageCursor, PageRequest, SortKey, Task, TaskDate, TaskStatus, TaskText, Timestamp,
    };
    use crate::service::TaskPage;
    use poem_openapi::types::ToJSON;

    fn task(id: i64, created_ms: i64) -> Task {
        Task {
            id,
            list_id: 5,
            date: TaskDate::parse("0999-02-03").unwrap(),
            text: TaskText::parse("say \"hi\"\n\tand ünïcode ✓").unwrap(),
            status: TaskStatus::Completed,
            created_at: Timestamp::from_millis(created_ms).unwrap(),
            updated_at: Timestamp::from_millis(created_ms + 1_000).unwrap(),
            sort_key: SortKey::parse("a1").unwrap(),
            version: 3,
        }
    }

    #[test]
    fn answers_written_by_hand_are_what_poem_openapi_writes() {
        // Whole seconds and milliseconds: the two ways an instant is written.
        for ms in [1_764_063_970_000, 1_764_063_970_017, 0] {
            let view = TaskView::from(task(7, ms));
            assert_eq!(view.json_text(), view.to_json_string());
            let listed = TaskPage {
                items: vec![task(1, ms), task(2, ms + 5)],
                page: PageRequest::parse(Some(1), Some(2)).unwrap(),
                total_items: 3,
                next: Some(PageCursor {
                    page: PageRequest::parse(Some(2), Some(2)).unwrap(),
                    after: SortKey::parse("b").unwrap(),
                    filter: String::new(),
                }),
            };
            let page = TaskPageView::from(listed.clone());
            let text = page.json_text();
            assert_eq!(text, page.to_json_string(), "{text}");
            assert_eq!(PageAnswer(listed).json_text(), text);
        }
    }

    #[test]
    fn a_view_instant_listo_would_not_store_is_written_as_chrono_writes_it() {
        use chrono::TimeZone;
        let mut view = TaskView::from(task(7, 1_764_063_970_017));
        for at in [
            chrono::Utc.timestamp_nanos(1_764_063_970_000_000_001),
            chrono::Utc.timestamp_millis_opt(-1).unwrap(),
            chrono::Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap(),
        ] {
            view.created_at = at;
            assert_eq!(view.json_text(), view.to_json_string(), "{at:?}");
        }
    }
}
