//! Which engine a story runs on, and `stories!`, which makes each story one test per engine.
//!
//! A story is a plain `async fn name()` that calls `spawn_app()`; the file lists its stories once:
//!
//! ```ignore
//! stories!(sqlite, postgres => [registering_twice_is_409, a_code_works_once]);
//! ```
//!
//! which emits `mod sqlite { #[tokio::test] async fn registering_twice_is_409() … }` and the same
//! in `mod postgres`, each running the story with its engine set for `spawn_app` to read. Tests are
//! then named `<file>::<engine>::<story>`, so `cargo test sqlite::` runs one half and
//! `cargo test postgres::` the other. A story left out of the list is dead code, which the lints
//! refuse.

use std::future::Future;

/// The engine a story's apps store their data in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// A SQLite file in the test's temporary folder.
    Sqlite,
    /// A fresh database on a throwaway PostgreSQL server (see `support::postgres`).
    Postgres,
}

tokio::task_local! {
    static ENGINE: Engine;
}

impl Engine {
    /// The engine of the story running on this task.
    pub fn current() -> Engine {
        ENGINE.try_with(|engine| *engine).expect(
            "no engine here: stories run through `stories!`, and tasks they spawn do not \
             inherit it (start apps on the story's own task)",
        )
    }

    /// Runs `story` on this engine. On PostgreSQL without a server to use the story is skipped
    /// (one line for the whole run says so), or fails under `LISTO_TEST_POSTGRES=required`.
    pub async fn run(self, story: impl Future<Output = ()>) {
        if self == Engine::Postgres && !crate::support::postgres::available() {
            return;
        }
        ENGINE.scope(self, story).await;
    }
}

/// `stories!(sqlite, postgres => [a, b])`: one `#[tokio::test]` per story and engine, in a
/// module named after the engine (`sqlite`, `postgres`, or both, in that order).
macro_rules! stories {
    ($($engine:ident),+ => $stories:tt) => {
        $( $crate::support::stories!(@on $engine $stories); )+
    };
    (@on sqlite [$($story:ident),* $(,)?]) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $story() {
                    $crate::support::Engine::Sqlite.run(super::$story()).await;
                }
            )*
        }
    };
    (@on postgres [$($story:ident),* $(,)?]) => {
        mod postgres {
            $(
                #[tokio::test]
                async fn $story() {
                    $crate::support::Engine::Postgres.run(super::$story()).await;
                }
            )*
        }
    };
}
pub(crate) use stories;
