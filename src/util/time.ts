/** `a` is strictly earlier than `b`, each as seconds and nanoseconds (numbers: nothing allocated). */
export function isEarlier(aSec: number, aNsec: number, bSec: number, bNsec: number): boolean {
  return aSec < bSec || (aSec === bSec && aNsec < bNsec);
}
