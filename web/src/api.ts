// The server's HTTP API, as the pages use it. Every state-changing request carries the CSRF double-submit
// header; every failure becomes an ApiError whose message a person can read.

export type Role = "student" | "instructor" | "admin" | string;
export interface User { id: string | number; display_name: string; role: Role }
export interface ClassRef { id: string | number; name: string; role: Role }
export interface Me { user: User; classes: ClassRef[] }
export interface RoomRef { id: string | number; name: string; kind: string }
export interface LessonRef { slug: string; title: string; course?: string }
export interface ClassInfo {
  id: string | number; name: string; join_code?: string | null; course?: string | null;
  rooms: RoomRef[]; lessons: LessonRef[]; online: { id: string | number; display_name: string }[];
}
export interface Lesson { slug: string; title: string; body: string; html?: string }
export interface RoomInfo {
  id: string | number; name: string; kind: string; class_id: string | number;
  lesson: Lesson | null; members: { id: string | number; display_name: string; role?: string }[];
  can_write: boolean; files?: unknown[];
}
export interface RunRef { id: string | number; status: string; queue_position?: number | null }
export interface RunSummary {
  id: string | number; status?: string; verdict?: string | null; exit_code?: number | null;
  wall_ms?: number | null; created_at?: string; user?: { display_name?: string } | null;
  user_name?: string; display_name?: string; user_id?: string; error?: { type?: string; message?: string; line?: number } | null;
  finished_at?: string | null; kind?: string; score?: number | null;
}
export interface ForkPreview {
  source_room_id: string; target_room_id: string | null; target_room_name: string | null; files: string[];
  clashes: string[];
}
export interface ForkDone { id: string; target_room_id: string; mode: string; files: Record<string, string> }
export interface ReturnLink { user_id: string; display_name: string; link: string; code: string }

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

function cookie(name: string): string {
  const hit = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
  return hit ? decodeURIComponent(hit.slice(name.length + 1)) : "";
}

const PLAIN: Record<number, string> = {
  401: "You are not signed in.",
  403: "You are not allowed to do that.",
  404: "Not found.",
  429: "Too many requests: wait a moment and try again.",
};

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRF-Token"] = cookie("classroom_csrf");
  let res: Response;
  try {
    res = await fetch(path, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", "Cannot reach the server. Check your connection.");
  }
  const text = await res.text();
  let data: any = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    const detail = data?.detail ?? data?.error ?? PLAIN[res.status] ?? `The server answered ${res.status}.`;
    throw new ApiError(res.status, data?.error ?? String(res.status), typeof detail === "string" ? detail : JSON.stringify(detail));
  }
  return data as T;
}

export const get = <T>(path: string) => api<T>("GET", path);
export const post = <T>(path: string, body: unknown = {}) => api<T>("POST", path, body);

/** A fresh short-lived token for one WebSocket connection. */
export async function wsToken(): Promise<string> {
  return (await post<{ token: string }>("/api/tokens")).token;
}

/** ws(s)://host of this page, for WebSocket URLs. */
export function wsBase(): string {
  return (location.protocol === "https:" ? "wss://" : "ws://") + location.host;
}

export async function me(): Promise<Me | null> {
  try {
    return await get<Me>("/api/me");
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}

// --- grading ------------------------------------------------------------------------------------------------
export interface TestResult { name: string; passed: boolean; message: string; points: number }
export interface GradeReport { loaded: boolean; error: string; tests: TestResult[] }
export interface CheckInfo {
  id: string; status: string; user_id: string; user_name: string; verdict: string | null;
  score: number | null; points: number; grade: GradeReport | null; created_at: string; finished_at: string | null;
}
export interface RoomChecks {
  exercise: string; title: string; points: number; test_count: number; best_score: number | null;
  attempts: number; failed: number; passed_at: string | null; hints: string[]; hint_count: number;
  hint_after: number; next_hint_in: number | null; checks: CheckInfo[];
}
export interface Cell { exercise: string; best: number | null; attempts: number; first_pass_at: string | null }
export interface Gradebook {
  class_id: string; exercises: { id: string; title: string; points: number }[];
  students: { id: string; name: string; total: number; cells: Cell[] }[];
}

/** base64 of bytes, for JSON bodies. */
export function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}
