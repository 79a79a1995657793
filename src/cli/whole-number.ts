import { InvalidArgumentError } from 'commander';

/** A command-line value parser: a whole number from `min` to `max`, else a usage error saying `words`. */
export function wholeNumber(min: number, max: number, words: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(words);
    return n;
  };
}
