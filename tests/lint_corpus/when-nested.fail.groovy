pipeline {
    agent any
    stages {
        stage('build') {
            when {
                not {  // <-- when-nested
                    branch 'a'
                    branch 'b'
                }
            }
            steps { echo 'x' }
        }
    }
}
