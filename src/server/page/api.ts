/** The page's side of the JSON API: reads carry the cookie, changes the token header too (see server/auth.ts). */
const meta = (name: string) => document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content ?? "";

export const readOnly = meta("corral-read-only") === "1";

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly noDatabase: boolean,
  ) {
    super(message);
  }
}

async function answer<T>(res: Response): Promise<T> {
  const body = (await res.json().catch(() => ({ error: `${res.status} ${res.statusText}` }))) as T & { error?: string; noDatabase?: boolean };
  if (!res.ok) throw new ApiError(body.error ?? `${res.status} ${res.statusText}`, res.status, body.noDatabase === true);
  return body;
}

export async function getJson<T>(url: string): Promise<T> {
  return answer<T>(await fetch(url, { headers: { Accept: "application/json" } }));
}

export interface ChangeRequest {
  readonly verb: "cancel" | "resubmit" | "release" | "mark" | "delete";
  readonly targets: readonly string[];
  readonly clean?: boolean;
  readonly label?: string | null;
  readonly keepLogs?: boolean;
}

export async function postChange(change: ChangeRequest): Promise<{ message: string }> {
  const res = await fetch("/api/actions", {
    method: "POST",
    headers: { "Content-Type": "application/json", [meta("corral-token-header")]: meta("corral-token") },
    body: JSON.stringify(change),
  });
  return answer<{ message: string }>(res);
}
