// Scans and buttons waiting to be sent, kept in IndexedDB: a reload, a sign-out or a closed
// tab loses none of them, and they are sent in the order they were made.

const NAME = "warehouse-floor";
let opened = null;

function open() {
  opened = opened || new Promise((resolve, reject) => {
    const request = indexedDB.open(NAME, 1);
    request.onupgradeneeded = () => {
      request.result.createObjectStore("outbox", { keyPath: "seq", autoIncrement: true });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return opened;
}

async function run(mode, act) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const tx = db.transaction("outbox", mode);
    const result = act(tx.objectStore("outbox"));
    tx.oncomplete = () => resolve(result && "result" in result ? result.result : undefined);
    tx.onerror = () => reject(tx.error);
  });
}

export const add = (item) => run("readwrite", (store) => store.add(item));
export const put = (item) => run("readwrite", (store) => store.put(item));
export const remove = (seq) => run("readwrite", (store) => store.delete(seq));
export const all = () => run("readonly", (store) => store.getAll());

// A client-made id for an event: the service applies each id once.
export function newId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
