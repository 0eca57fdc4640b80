/** The notifications app's data model, shared by the demo backend and the page. */

export const userTopic = (user: string): string => `https://crier.example/users/${user}/notifications`;

export type NotificationKind = 'like' | 'comment' | 'follow' | 'message' | 'mention';

export interface Person {
  id: string;
  name: string;
  color: string;
  /** True for the people you can sign in as. */
  demo: boolean;
}

export interface Notification {
  id: string;
  kind: NotificationKind;
  from: Person;
  to: string;
  /** What was liked or commented on, or the message. */
  text: string;
  at: number;
  read: boolean;
}

export interface Inbox {
  me: Person;
  people: Person[];
  hub: string;
  topic: string;
  notifications: Notification[];
  /** The hub ID of the last notification published to this user, to subscribe from (no gap after load). */
  lastEventId: string | null;
}

export const POSTS = [
  'Sunset over the harbour',
  'My sourdough finally rose',
  'Notes from the SSE meetup',
  'Trail run, 21 km',
  'Release 2.0 is out!',
  'Which keyboard should I buy?',
  'Rooftop garden, week 6',
];
export const COMMENTS = [
  'This is brilliant',
  'Where was this taken?',
  'Congrats, well deserved!',
  'Love it. Sharing with the team.',
  'Haha, same here',
  'Can you post the recipe?',
];
export const MESSAGES = [
  'Are we still on for Friday?',
  'Sent you the slides',
  'Lunch tomorrow?',
  'Call me when you can',
  'The deploy went fine',
];
