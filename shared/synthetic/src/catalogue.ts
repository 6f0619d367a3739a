/**
 * The product catalogue of the synthetic shop: a fixed number of products in categories, each
 * with a name, a list price and a popularity. It depends on the seed only, so every day and every
 * generator sees the same products.
 */
import { Random, hashString, weightedTable, type WeightedTable } from './prng.js';

/** One product of the catalogue. */
export interface Product {
  /** `prd_0001` ... */
  readonly id: string;
  readonly name: string;
  readonly category: string;
  /** List price in USD, two decimals. */
  readonly priceUsd: number;
  /** Relative popularity (a Zipf-like weight). */
  readonly popularity: number;
}

/** The catalogue: products, by id, and a popularity table for weighted draws. */
export interface Catalogue {
  readonly products: readonly Product[];
  readonly byId: ReadonlyMap<string, Product>;
  readonly popularity: WeightedTable<Product>;
  /** Products of each category, for sessions that browse one category. */
  readonly byCategory: ReadonlyMap<string, readonly Product[]>;
}

interface CategorySpec {
  name: string;
  nouns: readonly string[];
  minUsd: number;
  maxUsd: number;
  weight: number;
}

const CATEGORIES: readonly CategorySpec[] = [
  {
    name: 'electronics',
    nouns: ['Headphones', 'Speaker', 'Charger', 'Smartwatch', 'Tablet', 'Camera', 'Keyboard', 'Monitor'],
    minUsd: 19,
    maxUsd: 899,
    weight: 1.4,
  },
  {
    name: 'home',
    nouns: ['Lamp', 'Throw Blanket', 'Vase', 'Rug', 'Cushion', 'Mirror', 'Clock', 'Shelf'],
    minUsd: 12,
    maxUsd: 249,
    weight: 1.1,
  },
  {
    name: 'kitchen',
    nouns: ['Chef Knife', 'Skillet', 'Kettle', 'Blender', 'Coffee Grinder', 'Cutting Board', 'Dutch Oven'],
    minUsd: 9,
    maxUsd: 329,
    weight: 1,
  },
  {
    name: 'apparel',
    nouns: ['Hoodie', 'Rain Jacket', 'T-Shirt', 'Sneakers', 'Beanie', 'Chinos', 'Wool Socks'],
    minUsd: 8,
    maxUsd: 189,
    weight: 1.3,
  },
  {
    name: 'beauty',
    nouns: ['Face Serum', 'Lip Balm', 'Shampoo', 'Hand Cream', 'Sunscreen', 'Perfume'],
    minUsd: 5,
    maxUsd: 119,
    weight: 0.9,
  },
  {
    name: 'sports',
    nouns: ['Yoga Mat', 'Dumbbell Set', 'Water Bottle', 'Running Belt', 'Tennis Racket', 'Bike Helmet'],
    minUsd: 9,
    maxUsd: 279,
    weight: 0.8,
  },
  {
    name: 'books',
    nouns: ['Cookbook', 'Novel', 'Travel Guide', 'Notebook', 'Art Book', 'Planner'],
    minUsd: 6,
    maxUsd: 59,
    weight: 0.9,
  },
  {
    name: 'toys',
    nouns: ['Puzzle', 'Building Set', 'Plush Bear', 'Board Game', 'Kite', 'Train Set'],
    minUsd: 7,
    maxUsd: 149,
    weight: 0.7,
  },
  {
    name: 'grocery',
    nouns: ['Coffee Beans', 'Green Tea', 'Olive Oil', 'Dark Chocolate', 'Granola', 'Hot Sauce'],
    minUsd: 3,
    maxUsd: 39,
    weight: 1.2,
  },
  {
    name: 'garden',
    nouns: ['Planter', 'Pruning Shears', 'Hose', 'Seed Kit', 'Bird Feeder', 'Solar Light'],
    minUsd: 6,
    maxUsd: 199,
    weight: 0.6,
  },
];

const ADJECTIVES = [
  'Aurora',
  'Nimbus',
  'Summit',
  'Harbor',
  'Cedar',
  'Pixel',
  'Luna',
  'Ember',
  'Atlas',
  'Willow',
  'Nova',
  'Drift',
  'Granite',
  'Maple',
  'Zephyr',
  'Coral',
  'Orbit',
  'Sable',
  'Tidal',
  'Vista',
  'Alder',
  'Quartz',
  'Juniper',
  'Polar',
];

/** How many products the catalogue holds. */
export const PRODUCT_COUNT = 240;

const cache = new Map<number, Catalogue>();

/** The catalogue of a seed (built once per process and seed). */
export function catalogueFor(seed: number): Catalogue {
  const cached = cache.get(seed);
  if (cached) return cached;
  const random = Random.of(seed, hashString('catalogue'));
  const categories = weightedTable(CATEGORIES.map((spec) => [spec, spec.weight] as const));
  const products: Product[] = [];
  const names = new Set<string>();
  for (let index = 1; index <= PRODUCT_COUNT; index += 1) {
    const spec = random.weighted(categories);
    let name = `${random.pick(ADJECTIVES)} ${random.pick(spec.nouns)}`;
    if (names.has(name)) name = `${name} ${['II', 'Pro', 'Mini', 'Max', 'Lite', 'Plus'][index % 6]!}`;
    if (names.has(name)) name = `${name} ${index}`;
    names.add(name);
    // Log-uniform prices, ending in .99 as shops like to.
    const raw = Math.exp(Math.log(spec.minUsd) + random.next() * (Math.log(spec.maxUsd) - Math.log(spec.minUsd)));
    const priceUsd = Math.max(0.99, Math.floor(raw) + 0.99);
    products.push({
      id: `prd_${String(index).padStart(4, '0')}`,
      name,
      category: spec.name,
      priceUsd,
      popularity: 1 / Math.pow(1 + random.int(0, PRODUCT_COUNT - 1), 0.8),
    });
  }
  const byCategory = new Map<string, Product[]>();
  for (const product of products) {
    const list = byCategory.get(product.category) ?? [];
    list.push(product);
    byCategory.set(product.category, list);
  }
  const catalogue: Catalogue = {
    products,
    byId: new Map(products.map((product) => [product.id, product])),
    popularity: weightedTable(products.map((product) => [product, product.popularity] as const)),
    byCategory,
  };
  cache.set(seed, catalogue);
  return catalogue;
}
