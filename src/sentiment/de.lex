# German, written for escalate (no lexicon with a clear licence was found in the
# registries); valences on VADER's -4..4 scale. Same licence as escalate.
-3.4	hasse hassen hasst ekelhaft widerlich
-3.1	schrecklich schreckliche schrecklicher schrecklichen furchtbar furchtbare furchtbaren katastrophe katastrophal grauenhaft miserabel
-3	betrug betrugen betrogen betruger abzocke abgezockt unverschamt unverschamtheit frechheit schande mull
-2.8	nutzlos nutzlose nutzlosen inkompetent inkompetente wutend sauer emport satt
-2.6	argerlich verargert genervt nervt nervig lacherlich lacherliche
-2.4	schlecht schlechte schlechter schlechten schlechtes mies miese enttauscht enttauschend enttauschung frustriert frustrierend
-2.2	kaputt kaputte defekt defekte fehler fehlern storung beschwerde reklamation inakzeptabel
-2	problem probleme problemen traurig besorgt schlimmer schlimm schlimmste langsam langsame verspatet verspatung
-1.8	verloren verlorene schaden beschadigt beschadigte ungerecht unmoglich teuer
-1.5	leider schwierig schwer kompliziert verwirrend verwirrt mude warte warten
-1.2	zweifel seltsam komisch
1.3	gut gute guten guter gutes okay ok richtig klar nutzlich
1.5	hilfe geholfen hilfreich schnell einfach freundlich nett angenehm
1.9	danke dankeschon dankbar zufrieden gelost erledigt froh
2.3	super prima perfekt toll tolle toller wunderbar fantastisch klasse glucklich
2.8	ausgezeichnet hervorragend grossartig unglaublich genial
3.1	liebe liebt
