// "/classes/{id}": the class home. Instructors get the class management page, students their live class home;
// both are fed by the class channel (a snapshot, then events), never by polling.

import { ApiError, ClassInfo, get } from "../api";
import { boot, fatal, requireUser } from "../shell";
import { manageClass } from "../class/manage";
import { studentClass } from "../class/student";
import { $ } from "../dom";
import { myReturnCard } from "../identity";

const classId = decodeURIComponent(location.pathname.split("/")[2] ?? "");

boot(async () => {
  const who = await requireUser();
  try {
    await get<ClassInfo>(`/api/classes/${encodeURIComponent(classId)}`);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 403 || e.status === 404)) {
      fatal("This class does not exist or you are not a member of it.");
      return;
    }
    throw e;
  }
  const mine = who.classes.find((c) => String(c.id) === classId);
  const teaches = who.user.role === "admin" || mine?.role === "instructor" || mine?.role === "admin";
  if (teaches) { manageClass(classId); return; }
  studentClass(classId);
  // Students: their return link and code (the way back in from another device; issue 12).
  myReturnCard().then((card) => { if (card) $(".grid").prepend(card); }).catch(() => undefined);
});
