//! [`AckHandle`]: acknowledgements from anywhere, without access to the [`ChangeStream`].
//!
//! Added for the Python binding, where one task may wait in `next_batch` (holding the stream)
//! while another acknowledges what it has processed.

use pgoutput::Lsn;

use super::ChangeStream;
use crate::{
    ack::{AckTracker, Positions},
    event::Event,
};

/// Acknowledges events of a [`ChangeStream`] without borrowing it; cheap to clone and usable
/// from any thread or task, also while another task waits for the next batch.
///
/// Acknowledging through the handle is the same as [`ChangeStream::ack`] /
/// [`ChangeStream::ack_lsn`]. After the stream was stopped, acknowledgements have no effect
/// on the server any more (the final position was sent when it stopped).
#[derive(Debug, Clone)]
pub struct AckHandle(AckTracker);

impl AckHandle {
    /// Acknowledges `event` and every event before it (see [`ChangeStream::ack`]).
    pub fn ack(&self, event: &Event) {
        self.0.ack_seq(event.seq);
    }

    /// Acknowledges every transaction whose commit ended at or before `lsn`
    /// (see [`ChangeStream::ack_lsn`]).
    pub fn ack_lsn(&self, lsn: Lsn) {
        self.0.ack_lsn(lsn);
    }

    /// For a consumer that puts the events of [`ChangeStream::next_batch`] in a queue of its
    /// own and hands them on one by one (the Python binding): from now on
    /// [`positions`](Self::positions)' `handed_out` follows [`handed_out`](Self::handed_out)
    /// instead of the batches the stream returned. Call it before the first batch.
    pub fn track_hand_out(&self) {
        self.0.track_hand_out_externally();
    }

    /// With [`track_hand_out`](Self::track_hand_out): `event` and every event before it were
    /// handed to the consumer.
    pub fn handed_out(&self, event: &Event) {
        self.0.handed_out_by_consumer(event.seq);
    }

    /// Received, handed-out and acknowledged positions (see [`ChangeStream::positions`]).
    pub fn positions(&self) -> Positions {
        self.0.positions()
    }
}

impl ChangeStream {
    /// A handle that acknowledges events of this stream from elsewhere (another task or
    /// thread), without needing the stream itself.
    pub fn ack_handle(&self) -> AckHandle {
        AckHandle(self.acks.clone())
    }
}
