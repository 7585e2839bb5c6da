// The one V8 call wharf needs that neither Node nor Node-API offers: a full collection that gives
// pages back to the system, as V8's own memory reducer does after 8 s of idling.
#include <v8.h>

extern "C" void wharf_low_memory_notification(void) {
  v8::Isolate *isolate = v8::Isolate::GetCurrent();
  if (isolate != nullptr) isolate->LowMemoryNotification();
}
